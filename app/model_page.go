package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ModelPage sets up the network to train: architecture, head, input size,
// class count, the layers that learn and pretrained weights from a file
// on the disk, checked by a worker against the network. It shows the
// network as the CLI's summary and graph commands do, computed in a
// worker. The choices are the app's ModelChoice: what the Train page
// trains.
type ModelPage struct {
	app.Compo

	dataset     string
	manifest    *data.Manifest
	manifestErr string

	desc    *msg.ModelDescription
	descErr string
	pending bool
	seq     int // the newest request: older answers are dropped

	pageCtx app.Context
	mounted bool
}

func (p *ModelPage) OnMount(ctx app.Context) { p.pageCtx, p.mounted = ctx, true }

// OnPreRender keeps the context where nothing mounts: the server's
// prerendering and go-app's test engine, where the tests drive the page.
func (p *ModelPage) OnPreRender(ctx app.Context) { p.pageCtx = ctx }
func (p *ModelPage) OnDismount()                 { p.mounted = false }

func (p *ModelPage) OnNav(ctx app.Context) {
	if !app.IsClient {
		return
	}
	loadModel(ctx)
	name := ""
	ctx.LocalStorage().Get(datasetKey, &name)
	if name == "" {
		name = "digits"
	}
	p.dataset = name
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		m, err := fetcher.Manifest(c, name)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.manifestErr = err.Error()
			} else {
				p.manifest = m
			}
			p.describe(ctx, false)
		})
	})
}

// classes is the class count the network is described with: the choice's,
// else the dataset's, else ImageNet's.
func (p *ModelPage) classes(m ModelChoice) int {
	switch {
	case m.Classes > 0:
		return m.Classes
	case p.manifest != nil && len(p.manifest.Classes) > 0:
		return len(p.manifest.Classes)
	}
	return 1000
}

// size is the input size the network is described at.
func (p *ModelPage) size(m ModelChoice) int {
	switch {
	case m.Size > 0:
		return m.Size
	case p.manifest != nil && p.manifest.Image.Height > 0:
		return p.manifest.Image.Height
	}
	return 224
}

// describeRequest is what the workers are asked to describe.
func (p *ModelPage) describeRequest(m ModelChoice, fromWeights bool) msg.ModelDescribeRequest {
	headOnly, freeze := m.freezeSettings()
	return msg.ModelDescribeRequest{Arch: m.Arch, WidthDiv: m.WidthDiv, Head: m.Head, Dropout: 0.5, Classes: p.classes(m), Size: p.size(m),
		Freeze: freeze, HeadOnly: headOnly, Weights: m.WeightsName, FromWeights: fromWeights && m.Weights != nil, Graph: true}
}

// describe asks a worker for the network's summary and graph (and the
// weights' check); with fromWeights the architecture is taken from the
// weights file, as the CLI's --weights does.
func (p *ModelPage) describe(ctx app.Context, fromWeights bool) {
	ms := models()
	if ms == nil {
		p.descErr = "describing the network needs the browser app's workers"
		return
	}
	m := currentModel()
	req := p.describeRequest(m, fromWeights)
	if p.mounted {
		// The page's own context: the element whose handler started this
		// may be replaced by the redraw before the answer comes.
		ctx = p.pageCtx
	}
	p.seq++
	seq := p.seq
	p.pending, p.descErr = true, ""
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		d, err := ms.Describe(c, req, m.Weights)
		ctx.Dispatch(func(ctx app.Context) { p.described(ctx, seq, d, err) })
	})
}

// described shows a worker's answer (unless a newer request is out).
func (p *ModelPage) described(ctx app.Context, seq int, d *msg.ModelDescription, err error) {
	if seq != p.seq {
		return
	}
	p.pending = false
	if err != nil {
		p.descErr = err.Error()
		return
	}
	p.desc = d
	updateModel(ctx, func(m *ModelChoice) {
		// The network described (the weights file's, when taken from
		// it) is the one chosen: the form shows what the summary does.
		m.Arch, m.WidthDiv, m.Head = d.Arch, d.WidthDiv, d.Head
		m.WeightsErr = ""
		if d.Weights != nil {
			m.WeightsErr = d.Weights.Err
		}
	})
}

// change updates the choice and describes the network again.
func (p *ModelPage) change(ctx app.Context, f func(m *ModelChoice)) {
	updateModel(ctx, f)
	p.describe(ctx, false)
}

func (p *ModelPage) selectField(id, label, help, value string, options []option, set func(app.Context, string)) app.UI {
	return modelField(id, label, help, app.Select().ID("gr-m-"+id).Body(
		app.Range(options).Slice(func(i int) app.UI {
			o := options[i]
			return app.Option().Value(o.value).Selected(o.value == value).Text(o.label)
		}),
	).OnChange(func(ctx app.Context, e app.Event) { set(ctx, ctx.JSSrc().Get("value").String()) }))
}

func (p *ModelPage) intField(id, label, help string, value, min, step int, set func(app.Context, int) bool) app.UI {
	return modelField(id, label, help, app.Input().Type("number").ID("gr-m-"+id).Min(min).Step(float64(step)).Value(value).
		OnChange(func(ctx app.Context, e app.Event) {
			v, err := strconv.Atoi(strings.TrimSpace(ctx.JSSrc().Get("value").String()))
			if err != nil || !set(ctx, v) {
				p.descErr = fmt.Sprintf("%s: %q is not valid (%s)", label, ctx.JSSrc().Get("value").String(), help)
			}
		}))
}

func modelField(id, label, help string, input app.UI) app.UI {
	return app.Div().Class("gr-field").Body(
		app.Label().For("gr-m-"+id).Text(label),
		input,
		app.If(help != "", func() app.UI { return app.Small().Text(help) }),
	)
}

func (p *ModelPage) Render() app.UI {
	m := currentModel()
	return layout("/model",
		app.H1().Text("Model"),
		p.renderDataset(),
		p.renderForm(m),
		p.renderWeights(m),
		p.renderSummary(),
		p.renderGraph(),
	)
}

func (p *ModelPage) renderDataset() app.UI {
	body := []app.UI{app.Text("Dataset: "), app.A().Href("/data").Text(p.dataset)}
	switch {
	case p.manifestErr != "":
		body = append(body, app.Span().Class("gr-error").Text(" (could not read it: "+p.manifestErr+")"))
	case p.manifest != nil:
		body = append(body, app.Text(fmt.Sprintf(" — %d classes, %s. ", len(p.manifest.Classes), imageText(p.manifest.Image))))
	}
	body = append(body, app.Text(" What you choose here is what the "), app.A().Href("/train").Text("Train page"), app.Text(" trains."))
	return app.P().ID("gr-model-data").Body(body...)
}

func (p *ModelPage) renderForm(m ModelChoice) app.UI {
	dsClasses := "none chosen"
	if p.manifest != nil {
		dsClasses = strconv.Itoa(len(p.manifest.Classes))
	}
	return app.Form().ID("gr-model-form").Class("gr-form").OnSubmit(func(ctx app.Context, e app.Event) { e.PreventDefault() }).Body(
		app.FieldSet().Body(
			app.Legend().Text("Network"),
			p.selectField("arch", "Architecture", "", m.Arch, archOptions, func(ctx app.Context, v string) {
				p.change(ctx, func(m *ModelChoice) { m.Arch = v })
			}),
			p.selectField("width", "Width", "every channel count divided: 1/8 and 1/16 are small, fast networks for trying things", strconv.Itoa(m.WidthDiv), widthOptions,
				func(ctx app.Context, v string) {
					p.change(ctx, func(m *ModelChoice) { m.WidthDiv, _ = strconv.Atoi(v) })
				}),
			p.selectField("head", "Head", "the notebook's is Keras' AveragePooling2D((2,2), 'same'), Dropout(0.5), Flatten, Dense", m.Head, headOptions,
				func(ctx app.Context, v string) { p.change(ctx, func(m *ModelChoice) { m.Head = v }) }),
			p.intField("size", "Input size", "a multiple of 32, at least 32; the dataset's size by default", p.size(m), 32, 32, func(ctx app.Context, v int) bool {
				if v < 32 || v%32 != 0 {
					return false
				}
				p.change(ctx, func(m *ModelChoice) { m.Size = v })
				return true
			}),
			p.intField("classes", "Classes", "the dataset's: "+dsClasses+"; training always uses the dataset's classes, another count shows that network (e.g. 1000, ImageNet's)",
				p.classes(m), 1, 1, func(ctx app.Context, v int) bool {
					if v < 1 {
						return false
					}
					p.change(ctx, func(m *ModelChoice) {
						m.Classes = v
						if p.manifest != nil && v == len(p.manifest.Classes) {
							m.Classes = 0 // follows the dataset
						}
					})
					return true
				}),
			p.selectField("freeze", "Layers that learn", "frozen layers keep their batch norms in eval mode", m.Freeze, freezeOptions,
				func(ctx app.Context, v string) { p.change(ctx, func(m *ModelChoice) { m.Freeze = v }) }),
			app.If(m.Freeze == "up-to", func() app.UI {
				return p.selectField("freeze-up-to", "Freeze up to", "", m.FreezeUpTo, opts(freezeGroups...), func(ctx app.Context, v string) {
					p.change(ctx, func(m *ModelChoice) { m.FreezeUpTo = v })
				})
			}),
		),
		app.FieldSet().Body(
			app.Legend().Text("Pretrained weights"),
			modelField("weights", "Weights file", "safetensors or PyTorch .pth under torchvision's names (e.g. torchvision's resnet50 state_dict); read in a worker, never uploaded",
				app.Input().Type("file").ID("gr-m-weights").Accept(".safetensors,.pth,.pt").OnChange(func(ctx app.Context, e app.Event) {
					file, name := pickedFile("gr-m-weights")
					updateModel(ctx, func(m *ModelChoice) { m.Weights, m.WeightsName, m.WeightsErr = file, name, "" })
					p.describe(ctx, true)
				})),
			app.If(m.WeightsName != "", func() app.UI {
				return app.Button().ID("gr-m-weights-clear").Type("button").Text("Train from scratch instead").OnClick(func(ctx app.Context, e app.Event) {
					p.change(ctx, func(m *ModelChoice) { m.Weights, m.WeightsName, m.WeightsErr = nil, "", "" })
				})
			}),
		),
	)
}

func (p *ModelPage) renderWeights(m ModelChoice) app.UI {
	w := (*msg.WeightsReport)(nil)
	if p.desc != nil {
		w = p.desc.Weights
	}
	switch {
	case m.WeightsName == "":
		return app.P().ID("gr-model-weights").DataSet("state", "none").Text("No pretrained weights: training starts from a fresh initialisation (He, as torchvision's).")
	case p.pending && (w == nil || w.Name != m.WeightsName):
		return app.P().ID("gr-model-weights").DataSet("state", "checking").Text("Checking " + m.WeightsName + "…")
	case w == nil:
		return app.P().ID("gr-model-weights").DataSet("state", "unchecked").Text(m.WeightsName + " is picked.")
	case w.Err != "":
		return app.Div().ID("gr-model-weights").DataSet("state", "error").Class("gr-error").Body(
			app.P().Text(m.WeightsName+" cannot be used with this network:"),
			app.Pre().ID("gr-model-weights-error").Text(w.Err),
		)
	}
	text := fmt.Sprintf("%s fits: %d tensors of %s", w.Name, w.Tensors, w.Arch)
	if w.WidthDiv > 1 {
		text += fmt.Sprintf(" at width 1/%d", w.WidthDiv)
	}
	text += fmt.Sprintf(" with %d classes", w.Classes)
	if w.Replaced > 0 && p.desc != nil {
		text += fmt.Sprintf("; fc is replaced by a new %d-class layer (the file's has %d)", p.desc.Classes, w.Replaced)
	}
	return app.P().ID("gr-model-weights").DataSet("state", "ok").Text(text + ". Training starts from these weights.")
}

func (p *ModelPage) renderSummary() app.UI {
	d := p.desc
	var kids []app.UI
	kids = append(kids, app.H2().Text("Summary"))
	if p.descErr != "" {
		kids = append(kids, app.P().ID("gr-model-error").Class("gr-error").Text(p.descErr))
	}
	if p.pending {
		kids = append(kids, app.P().ID("gr-model-pending").Class("gr-note").Text("A worker is building the network… (while the workers train, it waits for them)"))
	}
	if d == nil {
		return app.Section().ID("gr-model-summary").Body(kids...)
	}
	frozen := d.NonTrainable > 0
	desc := fmt.Sprintf("%s, %d classes, %s head", d.Arch, d.Classes, d.Head)
	if d.WidthDiv > 1 {
		desc += fmt.Sprintf(", width divided by %d", d.WidthDiv)
	}
	unit, scale := "G", 1e9
	if d.MACs < 1e9 {
		unit, scale = "M", 1e6
	}
	kids = append(kids,
		app.P().Text(fmt.Sprintf("Model: %s, input (None, 3, %d, %d).", desc, d.Size, d.Size)),
		app.Table().ID("gr-model-totals").Class("gr-table gr-totals").DataSet("total", d.Total).DataSet("trainable", d.Trainable).
			DataSet("non-trainable", d.NonTrainable).Body(app.TBody().Body(
			totalRow("Total params", d.Total),
			totalRow("Trainable params", d.Trainable),
			totalRow("Non-trainable params", d.NonTrainable),
			totalRow("Buffers (batch norm running mean and variance, not parameters)", d.Buffers),
			app.Tr().Body(app.Th().Text("Forward pass per image"), app.Td().Class("gr-num").Text(fmt.Sprintf("%.2f %sMAC (%.2f %sFLOP) at %d×%d",
				float64(d.MACs)/scale, unit, 2*float64(d.MACs)/scale, unit, d.Size, d.Size))),
		)),
		app.Details().Body(
			app.Summary().Text(fmt.Sprintf("The %d layers (as the CLI's summary prints them)", len(d.Layers))),
			app.Table().ID("gr-model-layers").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Layer (type)"), app.Th().Text("Output shape"), app.Th().Class("gr-num").Text("Param #"), app.Th().Text("Connected to"),
					app.If(frozen, func() app.UI { return app.Th().Text("Trainable") }),
				)),
				app.TBody().Body(app.Range(d.Layers).Slice(func(i int) app.UI {
					l := d.Layers[i]
					var from []string
					for _, j := range l.Inputs {
						if j >= 0 && j < len(d.Layers) {
							from = append(from, d.Layers[j].Name)
						}
					}
					tr := ""
					switch {
					case l.Params == 0:
					case l.Trainable == l.Params:
						tr = "Y"
					case l.Trainable == 0:
						tr = "N"
					default:
						tr = "partly"
					}
					return app.Tr().DataSet("name", l.Name).Body(
						app.Td().Text(l.Name+" ("+l.Kind+")"), app.Td().Text(shapeText(l.Shape)), app.Td().Class("gr-num").Text(thousands(int64(l.Params))),
						app.Td().Text(strings.Join(from, ", ")),
						app.If(frozen, func() app.UI { return app.Td().Text(tr) }),
					)
				})),
			),
		),
	)
	return app.Section().ID("gr-model-summary").Body(kids...)
}

func totalRow(label string, n int) app.UI {
	return app.Tr().Body(app.Th().Text(label), app.Td().Class("gr-num").Text(fmt.Sprintf("%s (%s)", thousands(int64(n)), bytesText(4*int64(n)))))
}

// shapeText prints a shape as Keras does: (None, 64, 112, 112).
func shapeText(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			p[i] = "None"
		} else {
			p[i] = strconv.Itoa(d)
		}
	}
	return "(" + strings.Join(p, ", ") + ")"
}

func (p *ModelPage) renderGraph() app.UI {
	d := p.desc
	if d == nil || d.Graph == "" {
		return app.Section().ID("gr-model-graph-section")
	}
	return app.Section().ID("gr-model-graph-section").Body(
		app.H2().Text("Graph"),
		app.P().Body(
			app.Text("Every layer with its input and output shapes, the residual blocks boxed, shortcuts in grey (the CLI's graph command; "),
			app.Button().ID("gr-model-graph-download").Type("button").Text("download the SVG").OnClick(func(ctx app.Context, e app.Event) {
				if p.desc != nil {
					downloadBytes(p.desc.Arch+"-graph.svg", "image/svg+xml", []byte(p.desc.Graph))
				}
			}),
			app.Text(")."),
		),
		app.Div().ID("gr-model-graph").Class("gr-graph").Body(app.Raw(d.Graph)),
	)
}
