package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// ExportPage will download what training made. Its features are being
// built; the page says what they will be.
type ExportPage struct {
	app.Compo
}

func (p *ExportPage) Render() app.UI {
	return layout("/export",
		app.H1().Text("Export"),
		planned("This page is being built. It will download what training made:",
			"the checkpoint as safetensors (it loads in the goresnet command and in PyTorch) or ONNX;",
			"the training history as CSV.",
		),
	)
}
