package app

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The Train page's settings form: the train command's flags, grouped.
// Each field's id is gr-f-NAME (the browser test sets them by id).

type option struct{ value, label string }

func opts(values ...string) []option {
	o := make([]option, len(values))
	for i, v := range values {
		o[i] = option{v, v}
	}
	return o
}

func (p *TrainPage) field(id, label, help string, input app.UI) app.UI {
	return app.Div().Class("gr-field").Body(
		app.Label().For("gr-f-"+id).Text(label),
		input,
		app.If(help != "", func() app.UI { return app.Small().Text(help) }),
	)
}

func (p *TrainPage) selectField(id, label, help, value string, options []option, set func(string)) app.UI {
	return p.field(id, label, help, app.Select().ID("gr-f-"+id).Disabled(p.busy()).Body(
		app.Range(options).Slice(func(i int) app.UI {
			o := options[i]
			return app.Option().Value(o.value).Selected(o.value == value).Text(o.label)
		}),
	).OnChange(func(ctx app.Context, e app.Event) { set(ctx.JSSrc().Get("value").String()) }))
}

func (p *TrainPage) textField(id, label, help, value string, set func(string)) app.UI {
	return p.field(id, label, help, app.Input().Type("text").ID("gr-f-"+id).Value(value).Disabled(p.busy()).
		OnChange(func(ctx app.Context, e app.Event) { set(strings.TrimSpace(ctx.JSSrc().Get("value").String())) }))
}

func (p *TrainPage) intField(id, label, help string, value, min int, set func(int)) app.UI {
	return p.field(id, label, help, app.Input().Type("number").ID("gr-f-"+id).Min(min).Step(1).Value(value).Disabled(p.busy()).
		OnChange(func(ctx app.Context, e app.Event) {
			if v, err := strconv.Atoi(ctx.JSSrc().Get("value").String()); err == nil && v >= min {
				set(v)
			}
		}))
}

func (p *TrainPage) floatField(id, label, help string, value float64, set func(float64)) app.UI {
	return p.field(id, label, help, app.Input().Type("number").ID("gr-f-"+id).Attr("step", "any").Value(strconv.FormatFloat(value, 'g', -1, 64)).Disabled(p.busy()).
		OnChange(func(ctx app.Context, e app.Event) {
			if v, err := strconv.ParseFloat(ctx.JSSrc().Get("value").String(), 64); err == nil && v >= 0 {
				set(v)
			}
		}))
}

func (p *TrainPage) checkField(id, label string, value bool, set func(bool)) app.UI {
	return app.Div().Class("gr-field gr-check").Body(
		app.Input().Type("checkbox").ID("gr-f-"+id).Checked(value).Disabled(p.busy()).
			OnChange(func(ctx app.Context, e app.Event) { set(ctx.JSSrc().Get("checked").Bool()) }),
		app.Label().For("gr-f-"+id).Text(label),
	)
}

// The network's options, shared by the Train form and the Model page.
var (
	archOptions   = opts("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
	widthOptions  = []option{{"1", "full"}, {"2", "1/2"}, {"4", "1/4"}, {"8", "1/8"}, {"16", "1/16"}}
	headOptions   = []option{{"standard", "standard (global average pool, fc)"}, {"notebook", "the notebook's (2x2 average pool, dropout, dense)"}}
	freezeOptions = []option{{"full", "all of them"}, {"up-to", "freeze the stem up to a layer"}, {"head", "head only (features cached when not augmenting)"}}
)

func (p *TrainPage) renderForm() app.UI {
	f := &p.form
	s := &f.S
	workers := 1
	if tr := training(); tr != nil {
		workers = tr.Workers()
	}
	var workerOpts []option
	for k := 1; k <= max(workers, f.Workers); k++ {
		workerOpts = append(workerOpts, option{strconv.Itoa(k), strconv.Itoa(k)})
	}
	// The network is the Model page's choice (shared: both pages edit it).
	m := currentModel()
	size := m.Size
	if size == 0 && p.manifest != nil {
		size = p.manifest.Image.Height
	}
	set := func(f func(m *ModelChoice)) { updateModel(p.pageCtx, f) }
	weightsNote := "safetensors or PyTorch .pth under torchvision's names; fc is replaced when the class count differs"
	switch {
	case m.WeightsName != "" && m.WeightsErr != "":
		weightsNote = "picked: " + m.WeightsName + ", which does not fit this network (the Model page says why)"
	case m.WeightsName != "":
		weightsNote = "picked: " + m.WeightsName + " (checked on the Model page). " + weightsNote
	}
	return app.Form().ID("gr-train-form").Class("gr-form").OnSubmit(func(ctx app.Context, e app.Event) { e.PreventDefault() }).Body(
		app.FieldSet().Body(
			app.Legend().Text("Model"),
			app.P().Class("gr-note").Body(app.Text("The same choices as on the "), app.A().Href("/model").Text("Model page"),
				app.Text(", which shows the network's summary and graph and checks pretrained weights.")),
			p.selectField("arch", "Architecture", "", m.Arch, archOptions, func(v string) { set(func(m *ModelChoice) { m.Arch, m.WeightsErr = v, "" }) }),
			p.selectField("width", "Width", "1/8 and 1/16 are small, fast networks for trying things", strconv.Itoa(m.WidthDiv), widthOptions,
				func(v string) { set(func(m *ModelChoice) { m.WidthDiv, _ = strconv.Atoi(v); m.WeightsErr = "" }) }),
			p.selectField("head", "Head", "", m.Head, headOptions, func(v string) { set(func(m *ModelChoice) { m.Head = v }) }),
			p.intField("size", "Input size", "a multiple of 32; the dataset's size by default", size, 32, func(v int) { set(func(m *ModelChoice) { m.Size = v }) }),
			p.field("weights", "Pretrained weights", weightsNote,
				app.Input().Type("file").ID("gr-f-weights").Accept(".safetensors,.pth,.pt").Disabled(p.busy()).
					OnChange(func(ctx app.Context, e app.Event) {
						file, name := pickedFile("gr-f-weights")
						set(func(m *ModelChoice) { m.Weights, m.WeightsName, m.WeightsErr = file, name, "" })
					})),
			p.selectField("freeze", "Layers that learn", "frozen layers keep their batch norms in eval mode", m.Freeze, freezeOptions,
				func(v string) { set(func(m *ModelChoice) { m.Freeze = v }); p.formRev++; p.redraw() }),
			app.If(m.Freeze == "up-to", func() app.UI {
				return p.selectField("freeze-up-to", "Freeze up to", "", m.FreezeUpTo, opts(freezeGroups...), func(v string) { set(func(m *ModelChoice) { m.FreezeUpTo = v }) })
			}),
		),
		app.FieldSet().Body(
			app.Legend().Text("Optimizer"),
			p.selectField("optimizer", "Optimizer", "", s.Optimizer, opts("sgd", "adam", "adamw"), func(v string) { s.Optimizer = v }),
			p.floatField("lr", "Learning rate", "", s.LR, func(v float64) { s.LR = v }),
			app.If(s.Optimizer == "sgd", func() app.UI {
				return app.Div().Body(
					p.floatField("momentum", "Momentum", "", s.Momentum, func(v float64) { s.Momentum = v }),
					p.checkField("nesterov", "Nesterov momentum", s.Nesterov, func(v bool) { s.Nesterov = v }),
				)
			}),
			p.floatField("weight-decay", "Weight decay", "L2 for sgd and adam, decoupled for adamw", s.WeightDecay, func(v float64) { s.WeightDecay = v }),
			p.selectField("schedule", "Schedule", "", s.Schedule, opts("constant", "step", "cosine"), func(v string) { s.Schedule = v }),
			p.intField("warmup", "Warm-up steps", "linear, from lr/steps", s.Warmup, 0, func(v int) { s.Warmup = v }),
			app.If(s.Schedule == "step", func() app.UI {
				return app.Div().Body(
					p.intField("step-epochs", "Decay every (epochs)", "", s.StepEpochs, 1, func(v int) { s.StepEpochs = v }),
					p.floatField("gamma", "Decay factor", "", s.Gamma, func(v float64) { s.Gamma = v }),
				)
			}),
			p.floatField("max-norm", "Max-norm constraint", "the notebook's kernel constraint (0: off)", s.MaxNorm, func(v float64) { s.MaxNorm = v }),
		),
		app.FieldSet().Body(
			app.Legend().Text("Data and loop"),
			p.intField("epochs", "Epochs", "", s.Epochs, 1, func(v int) { s.Epochs = v }),
			p.intField("batch", "Batch size", "split across the workers", s.Batch, 1, func(v int) { s.Batch = v }),
			p.intField("accumulate", "Accumulate", "batches per optimizer step", s.Accumulate, 1, func(v int) { s.Accumulate = v }),
			p.selectField("workers", "Workers", fmt.Sprintf("Web Workers training together (this browser offers %d)", workers), strconv.Itoa(f.Workers), workerOpts,
				func(v string) { f.Workers, _ = strconv.Atoi(v) }),
			p.textField("augment", "Augmentations", "none, notebook, finetune, or e.g. flip,rotate=0.2,contrast=0.2,crop", s.Augment, func(v string) { s.Augment = v }),
			p.floatField("smoothing", "Label smoothing", "", s.Smoothing, func(v float64) { s.Smoothing = v }),
			p.textField("split", "Training split", "tfds syntax, e.g. train or train[:90%]", s.Split, func(v string) { s.Split = v }),
			p.textField("val", "Validation split", "e.g. test[:10%]; empty: the dataset's validation split; none: no validation", s.ValSplit, func(v string) { s.ValSplit = v }),
			p.selectField("save-best", "Best checkpoint by", "", s.SaveBest, opts("val_loss", "val_accuracy", "loss", "accuracy"), func(v string) { s.SaveBest = v }),
			p.intField("early-stop", "Early stopping", "epochs without improvement (0: never)", s.EarlyStop, 0, func(v int) { s.EarlyStop = v }),
			p.intField("seed", "Seed", "", int(s.Seed), 0, func(v int) { s.Seed = uint64(v) }),
		),
	)
}
