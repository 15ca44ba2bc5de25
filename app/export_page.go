package app

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ExportPage downloads what training made, from the browser's storage:
// any checkpoint as safetensors under torchvision's names or as ONNX
// (converted in a worker, as the CLI's export command does), and a run's
// history as CSV (the columns of the CLI's history.csv).
type ExportPage struct {
	app.Compo

	runs        []storage.Run
	checkpoints []storage.Checkpoint
	current     string // the current model's checkpoint
	storeErr    string
	loaded      bool

	notice      string
	noticeState string // "working", "done", "error"

	// pageCtx is the page's own context: the answers of the workers are
	// dispatched to it, not to the clicked button's, which the redraw
	// that says "working" may replace (go-app drops a dispatch whose
	// element is gone).
	pageCtx app.Context
	mounted bool
}

func (p *ExportPage) OnMount(ctx app.Context) { p.pageCtx, p.mounted = ctx, true }
func (p *ExportPage) OnDismount()             { p.mounted = false }

// own returns the page's context for work started by a handler.
func (p *ExportPage) own(ctx app.Context) app.Context {
	if p.mounted {
		return p.pageCtx
	}
	return ctx
}

// OnPreRender keeps the context where nothing mounts: the server's
// prerendering and go-app's test engine, where the tests drive the page.
func (p *ExportPage) OnPreRender(ctx app.Context) { p.pageCtx = ctx }

func (p *ExportPage) OnNav(ctx app.Context) {
	if !app.IsClient {
		return
	}
	p.refresh(ctx)
}

// refresh reads the runs and checkpoints from the browser's storage.
func (p *ExportPage) refresh(ctx app.Context) {
	db, err := store()
	if db == nil {
		p.storeErr = "the browser's storage is not available"
		if err != nil {
			p.storeErr = "the browser's storage could not be opened: " + err.Error()
		}
		return
	}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		runs, err1 := db.Runs(c)
		cks, err2 := db.Checkpoints(c, "")
		cur := ""
		if cs, ok := db.(interface {
			Current(context.Context) (*storage.Checkpoint, error)
		}); ok {
			if ck, err := cs.Current(c); err == nil {
				cur = ck.ID
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.loaded = true
			if err := firstErr(err1, err2); err != nil {
				p.storeErr = "reading the browser's storage: " + err.Error()
				return
			}
			p.runs, p.checkpoints, p.current, p.storeErr = runs, cks, cur, ""
		})
	})
}

func (p *ExportPage) say(state, text string) { p.noticeState, p.notice = state, text }

// export converts checkpoint id in a worker and downloads the file.
func (p *ExportPage) export(ctx app.Context, id, format string) {
	ms := models()
	if ms == nil {
		p.say("error", "exporting needs the browser app's workers")
		return
	}
	name := id
	for _, c := range p.checkpoints {
		if c.ID == id {
			name = c.Name
		}
	}
	p.say("working", fmt.Sprintf("A worker is writing %s as %s…", name, format))
	ctx = p.own(ctx)
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		res, err := ms.Export(c, msg.CheckpointExportRequest{Checkpoint: id, Name: name, Format: format})
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.say("error", fmt.Sprintf("Export of %s as %s: %v", name, format, err))
				return
			}
			p.say("done", fmt.Sprintf("Downloaded %s (%s): %s.", res.Name, bytesText(int64(res.Bytes)), res.Summary))
		})
	})
}

// historyCSV downloads a run's history as the CLI's history.csv.
func (p *ExportPage) historyCSV(ctx app.Context, id string) {
	db, _ := store()
	if db == nil {
		p.say("error", "the browser's storage is not available")
		return
	}
	ctx = p.own(ctx)
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := db.Run(c, id)
		var b bytes.Buffer
		if err == nil {
			err = r.History.WriteCSV(&b)
		}
		name := "history-" + strings.ReplaceAll(id, ".", "-") + ".csv"
		if err == nil {
			err = downloadBytes(name, "text/csv", b.Bytes())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.say("error", fmt.Sprintf("History of run %s: %v", id, err))
				return
			}
			p.say("done", fmt.Sprintf("Downloaded %s: %d epochs.", name, len(r.History.Epochs)))
		})
	})
}

func (p *ExportPage) Render() app.UI {
	return layout("/export",
		app.H1().Text("Export"),
		app.P().Text("Download what training made in this browser. Safetensors holds the weights under torchvision's names (it loads in "+
			"PyTorch with load_state_dict and in goresnet's commands as --weights); ONNX is the network in eval mode, batch norms folded into the "+
			"convolutions (input \"input\": N×3×S×S float32, ImageNet-normalised; output \"logits\"), for onnxruntime, Netron and the like. "+
			"The conversion runs in a worker, as goresnet export does."),
		// Always there (empty when there is nothing to say), so the
		// tables below keep their place in the tree.
		app.P().ID("gr-export-notice").DataSet("state", p.noticeState).Class(map[string]string{"error": "gr-error"}[p.noticeState]).Text(p.notice),
		app.If(p.storeErr != "", func() app.UI { return app.P().ID("gr-export-error").Class("gr-error").Text(p.storeErr) }),
		p.renderCheckpoints(),
		p.renderRuns(),
	)
}

func (p *ExportPage) renderCheckpoints() app.UI {
	cks := p.checkpoints
	return app.Section().Body(
		app.H2().Text("Checkpoints"),
		app.If(len(cks) == 0 && p.storeErr == "", func() app.UI {
			text := "Reading the browser's storage…"
			if p.loaded || !app.IsClient {
				text = "No checkpoint yet: train on the Train page, or import one there."
			}
			return app.P().ID("gr-export-empty").Text(text)
		}),
		app.If(len(cks) > 0, func() app.UI {
			return app.Table().ID("gr-export-checkpoints").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Checkpoint"), app.Th().Text("Run"), app.Th().Text("Network"), app.Th().Class("gr-num").Text("Epoch"),
					app.Th().Class("gr-num").Text("Val accuracy"), app.Th().Text(""), app.Th().Text("Download as"),
				)),
				app.TBody().Body(app.Range(cks).Slice(func(i int) app.UI {
					c := cks[i]
					vacc := "—"
					if c.Metrics != nil && c.Metrics.HasVal {
						vacc = fmt.Sprintf("%.4f", c.Metrics.ValAccuracy)
					}
					var marks []string
					if c.Best {
						marks = append(marks, "★ best")
					}
					if c.ID == p.current {
						marks = append(marks, "current model")
					}
					network := fmt.Sprintf("%s, %d classes, %d×%d", c.Arch, c.Classes, c.Size, c.Size)
					if c.WidthDiv > 1 {
						network = fmt.Sprintf("%s 1/%d, %d classes, %d×%d", c.Arch, c.WidthDiv, c.Classes, c.Size, c.Size)
					}
					run := c.Run
					if run == "" {
						run = "imported"
					}
					return app.Tr().DataSet("id", c.ID).DataSet("kind", c.Kind).Body(
						app.Td().Title(c.ID).Text(c.Name), app.Td().Text(run), app.Td().Text(network), app.Td().Class("gr-num").Text(c.Epoch),
						app.Td().Class("gr-num").Text(vacc), app.Td().Text(strings.Join(marks, ", ")),
						app.Td().Body(
							// Handlers read the id from the button (go-app keeps
							// a reused element's first handler).
							app.Button().Class("gr-export-safetensors").DataSet("id", c.ID).Text("safetensors").OnClick(func(ctx app.Context, e app.Event) {
								p.export(ctx, ctx.JSSrc().Get("dataset").Get("id").String(), "safetensors")
							}),
							app.Button().Class("gr-export-onnx").DataSet("id", c.ID).Text("ONNX").OnClick(func(ctx app.Context, e app.Event) {
								p.export(ctx, ctx.JSSrc().Get("dataset").Get("id").String(), "onnx")
							}),
						),
					)
				})),
			)
		}),
	)
}

func (p *ExportPage) renderRuns() app.UI {
	runs := p.runs
	return app.Section().Body(
		app.H2().Text("Training histories"),
		app.P().Text("One row per epoch: epoch, loss, accuracy, val_loss, val_accuracy, val_top5, lr, seconds, images (the CLI's history.csv)."),
		app.If(len(runs) == 0 && p.storeErr == "", func() app.UI { return app.P().ID("gr-export-no-runs").Text("No training run yet.") }),
		app.If(len(runs) > 0, func() app.UI {
			return app.Table().ID("gr-export-runs").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Run"), app.Th().Text("Dataset"), app.Th().Text("Network"), app.Th().Class("gr-num").Text("Epochs"), app.Th().Text("State"), app.Th().Text(""),
				)),
				app.TBody().Body(app.Range(runs).Slice(func(i int) app.UI {
					r := runs[i]
					s := r.Settings
					network := s.Arch
					if s.WidthDiv > 1 {
						network += fmt.Sprintf(" 1/%d", s.WidthDiv)
					}
					return app.Tr().DataSet("id", r.ID).DataSet("epochs", len(r.History.Epochs)).Body(
						app.Td().Text(r.ID), app.Td().Text(r.Dataset), app.Td().Text(network),
						app.Td().Class("gr-num").Text(fmt.Sprintf("%d of %d", len(r.History.Epochs), s.Epochs)), app.Td().Text(r.State),
						app.Td().Body(app.Button().Class("gr-export-csv").DataSet("id", r.ID).Text("History CSV").Disabled(len(r.History.Epochs) == 0).
							OnClick(func(ctx app.Context, e app.Event) { p.historyCSV(ctx, ctx.JSSrc().Get("dataset").Get("id").String()) })),
					)
				})),
			)
		}),
	)
}
