package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// PredictPage classifies a picture with a model kept in this browser (the
// current model by default): dropped on the page, picked from disk, or
// taken with the camera. A worker decodes and resizes the picture exactly
// as the importer prepared the training data and runs the network; the
// page shows the five most likely classes with bars. The model comes from
// IndexedDB and the app from the service worker's cache, so it works
// offline.
type PredictPage struct {
	app.Compo

	models     modelList
	checkpoint string

	picture    any    // the File or Blob classified last
	pictureFor string // its name
	preview    string // an object URL of it, for the img
	fromCamera bool

	cameraOn bool
	camera   string // the camera's error

	running bool
	result  *msg.PredictResult
	resFor  string
	err     string
	busy    string

	stopWatch func()
}

const (
	cameraVideo  = "gr-camera"
	cameraCanvas = "gr-camera-canvas"
)

func (p *PredictPage) OnMount(ctx app.Context) {
	if tr := training(); tr != nil {
		p.stopWatch = tr.Watch(func(e TrainEvent) {
			switch e.Kind {
			case EventStarting, EventStarted, EventDone, EventFailed:
				ctx.Dispatch(func(app.Context) { p.updateBusy() })
			case EventEpoch:
				// A new best checkpoint may be the current model now.
				p.reload(ctx)
			}
		})
	}
}

func (p *PredictPage) OnDismount() {
	if p.stopWatch != nil {
		p.stopWatch()
		p.stopWatch = nil
	}
	if p.cameraOn {
		stopCamera(cameraVideo)
		p.cameraOn = false
	}
	revokeURL(p.preview)
	p.preview = ""
}

func (p *PredictPage) OnNav(ctx app.Context) {
	if !app.IsClient {
		return
	}
	p.updateBusy()
	p.reload(ctx)
}

// reload reads the stored checkpoints (in the browser's storage: no
// network needed).
func (p *PredictPage) reload(ctx uiContext) {
	ctx.Async(func() {
		l := loadModels(context.Background())
		ctx.Dispatch(func(app.Context) {
			followCurrent := p.checkpoint == "" || p.checkpoint == p.models.current
			p.models = l
			if followCurrent || l.find(p.checkpoint) == nil {
				p.checkpoint = l.preferred()
			}
		})
	})
}

func (p *PredictPage) updateBusy() {
	if inf := inference(); inf != nil {
		p.busy = inf.InferenceBusy()
	}
}

// classify sends the picture to a worker.
func (p *PredictPage) classify(ctx uiContext, picture any, name string, fromCamera bool) {
	inf := inference()
	switch {
	case picture == nil:
		p.err = "No picture: drop a picture file, pick one, or take one with the camera."
		return
	case inf == nil:
		p.err = "Classifying needs the browser app (its workers are not running here)."
		return
	case p.checkpoint == "":
		p.err = "There is no stored model yet: train one on the Train page, or import a checkpoint there."
		return
	}
	p.updateBusy()
	if p.busy != "" {
		return
	}
	if p.preview != "" {
		revokeURL(p.preview)
	}
	p.picture, p.pictureFor, p.fromCamera = picture, name, fromCamera
	p.preview = ""
	if !fromCamera {
		p.preview = objectURL(picture)
	}
	ck := p.models.find(p.checkpoint)
	req := msg.PredictRequest{Checkpoint: p.checkpoint, Version: checkpointVersion(ck), Top: 5, Name: name}
	p.running, p.err, p.result = true, "", nil
	ckName := p.checkpoint
	if ck != nil {
		ckName = ck.Name
	}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		res, err := inf.Predict(c, picture, req)
		ctx.Dispatch(func(app.Context) {
			p.running = false
			if err != nil {
				p.err = err.Error()
				return
			}
			p.result, p.resFor = res, fmt.Sprintf("%s, classified by %s", name, ckName)
		})
	})
}

func (p *PredictPage) startCamera(ctx uiContext) {
	p.camera = ""
	p.cameraOn = true // the video element is drawn, then the stream starts in it
	ctx.Async(func() {
		err := startCamera(cameraVideo)
		ctx.Dispatch(func(app.Context) {
			if err != nil {
				p.cameraOn, p.camera = false, err.Error()
			}
		})
	})
}

func (p *PredictPage) shoot(ctx uiContext) {
	ctx.Async(func() {
		blob, err := captureFrame(cameraVideo, cameraCanvas)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.camera = err.Error()
				return
			}
			p.classify(ctx, blob, "the camera's picture", true)
		})
	})
}

func (p *PredictPage) Render() app.UI {
	cks := p.models.checkpoints
	// The whole page takes a dropped picture: a picture dropped beside
	// the drop zone would otherwise make the browser leave the app to
	// show it.
	return layout("/predict", app.Div().ID("gr-predict-area").
		OnDragOver(func(ctx app.Context, e app.Event) { e.PreventDefault() }).
		OnDrop(func(ctx app.Context, e app.Event) {
			e.PreventDefault()
			f, name := droppedFile(e)
			p.classify(ctx, f, name, false)
		}).Body(
		app.H1().Text("Predict"),
		app.P().Text("Classify a picture with a model kept in this browser: drop a picture on the page, pick a file, or take one with "+
			"the camera. A worker prepares it as the training pictures were (turned upright by its EXIF orientation, resized "+
			"with padding to the model's input size, normalised as the checkpoint says) and runs the network. Nothing is "+
			"uploaded, and it works offline: the model is in the browser's storage."),
		// Messages that come and go sit in containers that are always
		// there: go-app matches children by position, and an element
		// shifted by one appearing is replaced, which would lose the
		// camera's stream (video) and frame (canvas).
		app.Div().Body(app.If(p.models.err != "", func() app.UI { return app.P().Class("gr-error").Text(p.models.err) })),
		app.Div().Body(app.If(p.models.loaded && len(cks) == 0, func() app.UI {
			return app.P().ID("gr-predict-nomodel").Class("gr-notice").Body(
				app.Text("There is no stored model yet: train one on the "),
				app.A().Href("/train").Text("Train page"),
				app.Text(", or import a checkpoint there (e.g. one made by "),
				app.Code().Text("goresnet train"),
				app.Text(")."),
			)
		})),
		app.Div().Class("gr-pick").Body(
			app.Span().Class("gr-field").Body(app.Label().For("gr-predict-checkpoint").Text("Model"), app.Select().ID("gr-predict-checkpoint").OnChange(func(ctx app.Context, e app.Event) {
				p.checkpoint = ctx.JSSrc().Get("value").String()
				p.result = nil
			}).Body(app.Range(cks).Slice(func(i int) app.UI {
				return app.Option().Value(cks[i].ID).Selected(cks[i].ID == p.checkpoint).Text(p.models.label(cks[i]))
			}))),
		),
		app.Div().Body(app.If(p.busy != "", func() app.UI { return app.P().ID("gr-predict-busy").Class("gr-notice").Text(p.busy) })),
		app.Div().ID("gr-predict-inputs").Class("gr-predict-inputs").Body(
			app.Div().ID("gr-predict-drop").Class("gr-drop").Body(
				app.P().Text("Drop a picture here (JPEG, PNG, GIF or WebP)"),
				app.P().Body(
					app.Label().For("gr-predict-file").Text("or pick a file: "),
					app.Input().Type("file").ID("gr-predict-file").Accept("image/*").OnChange(func(ctx app.Context, e app.Event) {
						f, name := pickedFile("gr-predict-file")
						p.classify(ctx, f, name, false)
					}),
				),
			),
			app.Div().ID("gr-predict-camera").Class("gr-camera").Body(
				app.If(!p.cameraOn, func() app.UI {
					return app.Button().ID("gr-camera-start").Text("Use the camera").OnClick(func(ctx app.Context, e app.Event) { p.startCamera(ctx) })
				}).Else(func() app.UI {
					return app.Div().Body(
						app.Button().ID("gr-camera-shoot").Text("Take the picture").Disabled(p.running).
							OnClick(func(ctx app.Context, e app.Event) { p.shoot(ctx) }),
						app.Button().ID("gr-camera-stop").Text("Stop the camera").OnClick(func(ctx app.Context, e app.Event) {
							stopCamera(cameraVideo)
							p.cameraOn = false
						}),
					)
				}),
				app.Video().ID(cameraVideo).Class("gr-video").Hidden(!p.cameraOn),
				app.Div().Body(app.If(p.camera != "", func() app.UI { return app.P().ID("gr-camera-error").Class("gr-error").Text(p.camera) })),
			),
		),
		app.Div().Body(
			app.If(p.err != "", func() app.UI { return app.P().ID("gr-predict-error").Class("gr-error").Text(p.err) }),
			app.If(p.running, func() app.UI {
				return app.P().ID("gr-predict-running").Text("Classifying " + p.pictureFor + " in a worker…")
			}),
		),
		app.Div().ID("gr-predict-output").Class("gr-predict-output").Body(
			// The canvas comes first and is always there: go-app matches
			// children by position, and a canvas it replaced would lose
			// the camera's frame that captureFrame drew into it.
			app.Div().Class("gr-picture").Body(
				app.Canvas().ID(cameraCanvas).Class("gr-preview").Hidden(!p.fromCamera || p.picture == nil),
				app.If(p.preview != "", func() app.UI {
					return app.Img().ID("gr-predict-preview").Class("gr-preview").Src(p.preview).Alt(p.pictureFor)
				}),
			),
			app.If(p.result != nil, p.renderResult),
		),
	))
}

func (p *PredictPage) renderResult() app.UI {
	r := p.result
	top := ""
	if len(r.Top) > 0 {
		top = r.Top[0].Class
	}
	return app.Section().ID("gr-predict-result").DataSet("top1", top).Body(
		app.H2().Text("Most likely"),
		app.P().Class("gr-hint").Text(p.resFor+fmt.Sprintf(" (resized to %dx%d, %s s)", r.Size, r.Size, strconv.FormatFloat(r.Seconds, 'f', 2, 64))),
		app.Table().ID("gr-predict-top").Class("gr-table gr-narrow").Body(
			app.TBody().Body(app.Range(r.Top).Slice(func(i int) app.UI {
				s := r.Top[i]
				return app.Tr().DataSet("class", s.Class).DataSet("probability", strconv.FormatFloat(s.Probability, 'g', 6, 64)).Body(
					app.Td().Text(s.Class),
					app.Td().Class("gr-barcell gr-wide").Body(app.Div().Class("gr-bar", widthClass(100*s.Probability))),
					app.Td().Class("gr-num").Text(pct(s.Probability)),
				)
			})),
		),
	)
}
