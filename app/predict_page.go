package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// PredictPage will classify pictures. Its features are being built; the
// page says what they will be.
type PredictPage struct {
	app.Compo
}

func (p *PredictPage) Render() app.UI {
	return layout("/predict",
		app.H1().Text("Predict"),
		planned("This page is being built. It will classify pictures with your last model, also offline:",
			"drop a picture or use the camera;",
			"the five most likely classes, with bars for their probabilities.",
		),
	)
}
