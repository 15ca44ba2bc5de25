package app

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// Home is the start page: what the app does and where each step lives.
type Home struct {
	app.Compo
}

// steps says what each page is for, in the order a person uses them.
var steps = map[string]string{
	"/data":     "choose the pictures to learn from: the built-in digits, a dataset this server offers, or your own.",
	"/model":    "choose the network (ResNet-18 to 152), its input size and classes, and pretrained weights.",
	"/train":    "fine-tune it in Web Workers, with live loss and accuracy.",
	"/evaluate": "measure it: loss, top-1, top-5, per-class accuracy, the confusion matrix.",
	"/predict":  "classify a picture or the camera's view, also offline.",
	"/export":   "download the model as safetensors or ONNX, and the training history.",
}

func (h *Home) Render() app.UI {
	return layout("/",
		app.H1().Text("Train a ResNet in your browser"),
		app.P().Text("goresnet fine-tunes a ResNet image classifier on your own pictures, on your own machine: "+
			"the pictures never leave it. The network, its training and the data pipeline are Go code compiled "+
			"to WebAssembly, running in Web Workers; the same code trains natively with the goresnet command."),
		app.Ol().Class("gr-steps").Body(app.Range(Pages[1:]).Slice(func(i int) app.UI {
			p := Pages[1+i]
			return app.Li().Body(app.A().Href(p.Path).Text(p.Title), app.Text(": "+steps[p.Path]))
		})),
		app.P().Class("gr-note").Text("Each step runs in this browser: the data, the network and its training stay on "+
			"your machine, work survives a reload, and once loaded the app (Predict and Evaluate included) works offline."),
	)
}
