package app

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// EvaluatePage measures a stored checkpoint on a split of a dataset the
// server offers: loss, top-1 and top-5 accuracy, each class's accuracy
// and the confusion matrix. A worker computes (the same evaluation as
// `goresnet evaluate`); the page only draws the numbers.
type EvaluatePage struct {
	app.Compo

	models     modelList
	checkpoint string // the chosen checkpoint's ID

	index    *DatasetIndex
	indexErr string
	dataset  string
	split    string

	running bool
	started time.Time
	result  *msg.EvaluateResult
	resFor  string // what the result measured, in words
	err     string
	busy    string // why no worker is free, "" when one is

	stopWatch func()
}

func (p *EvaluatePage) OnMount(ctx app.Context) {
	if tr := training(); tr != nil {
		// Training starting or ending frees or takes the workers.
		p.stopWatch = tr.Watch(func(e TrainEvent) {
			switch e.Kind {
			case EventStarting, EventStarted, EventDone, EventFailed:
				ctx.Dispatch(func(app.Context) { p.updateBusy() })
			}
		})
	}
}

func (p *EvaluatePage) OnDismount() {
	if p.stopWatch != nil {
		p.stopWatch()
		p.stopWatch = nil
	}
}

func (p *EvaluatePage) OnNav(ctx app.Context) {
	if !app.IsClient {
		return
	}
	p.updateBusy()
	if p.dataset == "" {
		ctx.LocalStorage().Get(datasetKey, &p.dataset)
	}
	ctx.Async(func() {
		l := loadModels(context.Background())
		c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		idx, err := fetcher.Index(c)
		ctx.Dispatch(func(app.Context) {
			p.setModels(l)
			p.setIndex(idx, err)
		})
	})
}

func (p *EvaluatePage) updateBusy() {
	if inf := inference(); inf != nil {
		p.busy = inf.InferenceBusy()
	}
}

// setModels shows the stored checkpoints, keeping the choice when it is
// still there.
func (p *EvaluatePage) setModels(l modelList) {
	p.models = l
	if l.find(p.checkpoint) == nil {
		p.checkpoint = l.preferred()
	}
}

// setIndex shows the server's datasets and picks one (the one chosen
// last on the Data or Train page, else the first) and a split (test,
// else validation, else the first).
func (p *EvaluatePage) setIndex(idx *DatasetIndex, err error) {
	if err != nil {
		p.indexErr = err.Error()
		return
	}
	p.index, p.indexErr = idx, ""
	if p.summary() == nil && len(idx.Datasets) > 0 {
		p.dataset = idx.Datasets[0].Name
	}
	p.pickSplit()
}

func (p *EvaluatePage) summary() *DatasetSummary {
	if p.index == nil {
		return nil
	}
	for i := range p.index.Datasets {
		if p.index.Datasets[i].Name == p.dataset {
			return &p.index.Datasets[i]
		}
	}
	return nil
}

func (p *EvaluatePage) pickSplit() {
	d := p.summary()
	if d == nil {
		return
	}
	for _, sp := range d.Splits {
		if sp.Name == p.split {
			return
		}
	}
	p.split = ""
	for _, want := range []string{"test", "validation", "val"} {
		for _, sp := range d.Splits {
			if sp.Name == want && p.split == "" {
				p.split = want
			}
		}
	}
	if p.split == "" && len(d.Splits) > 0 {
		p.split = d.Splits[0].Name
	}
}

// problem says why evaluation cannot start now ("" when it can).
func (p *EvaluatePage) problem() string {
	switch {
	case inference() == nil:
		return "Evaluation needs the browser app (its workers are not running here)."
	case p.models.loaded && len(p.models.checkpoints) == 0:
		return "There is no stored model yet: train one on the Train page, or import a checkpoint there."
	case p.checkpoint == "":
		return "Choose a checkpoint."
	case p.dataset == "" || p.split == "":
		return "Choose a dataset and a split."
	}
	return ""
}

func (p *EvaluatePage) run(ctx uiContext) {
	inf := inference()
	if p.problem() != "" || p.running || inf == nil {
		return
	}
	p.updateBusy()
	if p.busy != "" {
		return
	}
	ck := p.models.find(p.checkpoint)
	req := msg.EvaluateRequest{Dataset: p.dataset, Split: p.split, Checkpoint: p.checkpoint, Batch: 32}
	what := fmt.Sprintf("%s on %s / %s", ck.Name, p.dataset, p.split)
	p.running, p.err, p.started = true, "", time.Now()
	ctx.Async(func() {
		res, err := inf.Evaluate(context.Background(), req)
		ctx.Dispatch(func(app.Context) {
			p.running = false
			if err != nil {
				p.err = err.Error()
				return
			}
			p.result, p.resFor = res, what
		})
	})
}

func (p *EvaluatePage) Render() app.UI {
	return layout("/evaluate",
		app.H1().Text("Evaluate"),
		app.P().Body(
			app.Text("Measure a model kept in this browser on a split of a dataset: the loss, top-1 and top-5 accuracy, "+
				"each class's accuracy and the confusion matrix. A worker computes them, as "),
			app.Code().Text("goresnet evaluate"),
			app.Text(" does on the command line (eval mode: batch norms use their running statistics)."),
		),
		p.renderForm(),
		app.If(p.busy != "", func() app.UI { return app.P().ID("gr-eval-busy").Class("gr-notice").Text(p.busy) }),
		app.If(p.err != "", func() app.UI {
			return app.P().ID("gr-eval-error").Class("gr-error").Text("Evaluation failed: " + p.err)
		}),
		app.If(p.running, func() app.UI {
			return app.P().ID("gr-eval-running").Text("Evaluating " + p.checkpointName() + " on " + p.dataset + " / " + p.split + " in a worker…")
		}),
		app.If(p.result != nil, p.renderResult),
	)
}

func (p *EvaluatePage) checkpointName() string {
	if ck := p.models.find(p.checkpoint); ck != nil {
		return ck.Name
	}
	return p.checkpoint
}

func (p *EvaluatePage) renderForm() app.UI {
	cks := p.models.checkpoints
	var datasets []DatasetSummary
	if p.index != nil {
		datasets = p.index.Datasets
	}
	var splits []SplitSummary
	if d := p.summary(); d != nil {
		splits = d.Splits
	}
	why := p.problem()
	return app.Div().ID("gr-eval-form").Class("gr-pick").Body(
		app.If(p.models.err != "", func() app.UI { return app.P().Class("gr-error").Text(p.models.err) }),
		app.If(p.indexErr != "", func() app.UI {
			return app.P().ID("gr-eval-index-error").Class("gr-error").Text("Could not read the server's datasets: " + p.indexErr)
		}),
		app.Span().Class("gr-field").Body(app.Label().For("gr-eval-checkpoint").Text("Checkpoint"), app.Select().ID("gr-eval-checkpoint").OnChange(func(ctx app.Context, e app.Event) {
			p.checkpoint = ctx.JSSrc().Get("value").String()
		}).Body(app.Range(cks).Slice(func(i int) app.UI {
			return app.Option().Value(cks[i].ID).Selected(cks[i].ID == p.checkpoint).Text(p.models.label(cks[i]))
		}))),
		app.Span().Class("gr-field").Body(app.Label().For("gr-eval-dataset").Text("Dataset"), app.Select().ID("gr-eval-dataset").OnChange(func(ctx app.Context, e app.Event) {
			p.dataset = ctx.JSSrc().Get("value").String()
			p.pickSplit()
		}).Body(app.Range(datasets).Slice(func(i int) app.UI {
			d := datasets[i]
			return app.Option().Value(d.Name).Selected(d.Name == p.dataset).Text(fmt.Sprintf("%s (%d classes)", d.Name, d.Classes))
		}))),
		app.Span().Class("gr-field").Body(app.Label().For("gr-eval-split").Text("Split"), app.Select().ID("gr-eval-split").OnChange(func(ctx app.Context, e app.Event) {
			p.split = ctx.JSSrc().Get("value").String()
		}).Body(app.Range(splits).Slice(func(i int) app.UI {
			sp := splits[i]
			return app.Option().Value(sp.Name).Selected(sp.Name == p.split).Text(fmt.Sprintf("%s (%d examples)", sp.Name, sp.Count))
		}))),
		app.Button().ID("gr-eval-run").Text("Evaluate").Disabled(why != "" || p.running || p.busy != "").
			OnClick(func(ctx app.Context, e app.Event) { p.run(ctx) }),
		app.If(why != "" && p.models.loaded, func() app.UI { return app.P().ID("gr-eval-why").Class("gr-hint").Text(why) }),
	)
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + "%" }

func (p *EvaluatePage) renderResult() app.UI {
	r := p.result
	names := r.Classes
	for len(names) < len(r.Confusion) {
		names = append(names, fmt.Sprintf("class %d", len(names)))
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return app.Section().ID("gr-eval-result").
		DataSet("loss", f(r.Loss)).DataSet("top1", f(r.Top1)).DataSet("top5", f(r.Top5)).DataSet("n", r.N).Body(
		app.H2().Text("Results: "+p.resFor),
		app.Table().ID("gr-eval-summary").Class("gr-table gr-narrow").Body(
			app.TBody().Body(
				app.Tr().Body(app.Th().Text("Examples"), app.Td().Class("gr-num").Text(r.N)),
				app.Tr().Body(app.Th().Text("Loss (cross-entropy)"), app.Td().Class("gr-num").Text(strconv.FormatFloat(r.Loss, 'f', 4, 64))),
				app.Tr().Body(app.Th().Text("Top-1 accuracy"), app.Td().Class("gr-num").Text(pct(r.Top1))),
				app.Tr().Body(app.Th().Text("Top-5 accuracy"), app.Td().Class("gr-num").Text(pct(r.Top5))),
				app.Tr().Body(app.Th().Text("Time in the worker"), app.Td().Class("gr-num").Text(strconv.FormatFloat(r.Seconds, 'f', 1, 64)+" s")),
			),
		),
		app.H2().Text("Each class"),
		p.renderPerClass(names),
		app.H2().Text("Confusion matrix"),
		app.P().Class("gr-hint").Text("Rows: the true class; columns: the class predicted. A cell's colour is its share of the row: "+
			"a good model has a dark diagonal."),
		confusionTable(r.Confusion, names),
	)
}

func (p *EvaluatePage) renderPerClass(names []string) app.UI {
	r := p.result
	return app.Table().ID("gr-eval-perclass").Class("gr-table gr-narrow").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Class"), app.Th().Class("gr-num").Text("Examples"), app.Th().Class("gr-num").Text("Correct"),
			app.Th().Class("gr-num").Text("Accuracy"), app.Th().Text(""),
		)),
		app.TBody().Body(app.Range(r.Confusion).Slice(func(i int) app.UI {
			row := r.Confusion[i]
			total := 0
			for _, v := range row {
				total += v
			}
			acc := -1.0
			if i < len(r.PerClass) {
				acc = r.PerClass[i]
			}
			accText, width := "no examples", 0.0
			if acc >= 0 {
				accText, width = pct(acc), 100*acc
			}
			return app.Tr().DataSet("class", names[i]).DataSet("accuracy", strconv.FormatFloat(acc, 'g', -1, 64)).Body(
				app.Td().Text(names[i]),
				app.Td().Class("gr-num").Text(total),
				app.Td().Class("gr-num").Text(row[i]),
				app.Td().Class("gr-num").Text(accText),
				app.Td().Class("gr-barcell").Body(app.Div().Class("gr-bar", widthClass(width))),
			)
		})),
	)
}

// confusionTable draws the matrix as a heat map: class names on both
// axes, each cell shaded by its share of its row (so that rare classes
// show as clearly as common ones), the count written in it.
func confusionTable(m [][]int, names []string) app.UI {
	return app.Div().Class("gr-scroll").Body(app.Table().ID("gr-confusion").Class("gr-confusion").Body(
		app.THead().Body(
			app.Tr().Body(
				app.Th().Class("gr-corner").Text("true \\ predicted"),
				app.Range(m).Slice(func(j int) app.UI { return app.Th().Class("gr-pred").Title(names[j]).Text(names[j]) }),
			),
		),
		app.TBody().Body(app.Range(m).Slice(func(i int) app.UI {
			row := m[i]
			total := 0
			for _, v := range row {
				total += v
			}
			return app.Tr().DataSet("true", names[i]).Body(
				app.Th().Class("gr-true").Text(names[i]),
				app.Range(row).Slice(func(j int) app.UI {
					share := 0.0
					if total > 0 {
						share = float64(row[j]) / float64(total)
					}
					cell := app.Td().DataSet("count", row[j]).Title(fmt.Sprintf("true %s, predicted %s: %d of %d", names[i], names[j], row[j], total)).
						Text(row[j])
					if c := heatClass(share, i == j); c != "" {
						cell = cell.Class(c)
					}
					if share > 0.55 {
						cell = cell.Class("gr-dark")
					}
					if i == j {
						cell = cell.Class("gr-diag")
					}
					return cell
				}),
			)
		})),
	))
}
