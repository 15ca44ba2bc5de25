package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// TrainPage will run training in the workers. Its features are being
// built; the page says what they will be.
type TrainPage struct {
	app.Compo
}

func (p *TrainPage) Render() app.UI {
	return layout("/train",
		app.H1().Text("Train"),
		planned("This page is being built. It will fine-tune the model in Web Workers, each holding a replica, with gradients summed across them every step:",
			"the command line's settings: frozen layers or head only, optimizer, learning-rate schedule, augmentations, epochs, batch size;",
			"the number of workers (by default your processor count, at most 4);",
			"start, pause, resume and stop, with a progress bar, images per second and the time left;",
			"live loss and accuracy charts for training and validation, the table of epochs, and the checkpoints with the best marked;",
			"checkpoints kept in the browser after every epoch, so a reload resumes where training was.",
		),
	)
}
