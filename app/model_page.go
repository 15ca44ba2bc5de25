package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// ModelPage will set up the network. Its features are being built; the
// page says what they will be.
type ModelPage struct {
	app.Compo
}

func (p *ModelPage) Render() app.UI {
	return layout("/model",
		app.H1().Text("Model"),
		planned("This page is being built. It will let you set up the network to train:",
			"the architecture: ResNet-18, 34, 50, 101 or 152, with the standard head or the notebook's;",
			"the input size and the number of classes (from the dataset you chose);",
			"pretrained weights from a file on your disk (safetensors or PyTorch .pth), read in the browser;",
			"the summary table with the parameter totals (trainable and frozen), and the network's graph.",
		),
	)
}
