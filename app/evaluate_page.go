package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// EvaluatePage will measure a trained model. Its features are being
// built; the page says what they will be.
type EvaluatePage struct {
	app.Compo
}

func (p *EvaluatePage) Render() app.UI {
	return layout("/evaluate",
		app.H1().Text("Evaluate"),
		planned("This page is being built. It will measure a trained model on a split of the dataset:",
			"the loss, top-1 and top-5 accuracy;",
			"each class's accuracy;",
			"the confusion matrix.",
		),
	)
}
