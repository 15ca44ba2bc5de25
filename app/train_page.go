package app

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/runspec"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// TrainPage trains the model in the Web Workers: the command line's
// settings, start / pause / resume / stop, progress with images/s and the
// time left, live loss and accuracy charts, the epoch table, and the
// checkpoints kept in the browser (the best marked). A run interrupted by
// a reload or a closed tab resumes from its last checkpoint.
type TrainPage struct {
	app.Compo

	dataset     string // the dataset to train on (?dataset=, else the one chosen last)
	manifest    *data.Manifest
	manifestErr string

	form     trainForm
	formInit bool

	phase    string // idle, starting, training, paused, stopping, done, failed
	run      string // the run shown
	info     *msg.ModelInfo
	progress *msg.ProgressReport
	saving   *msg.SavingReport // a checkpoint being written, until its epoch report
	live     [][3]float64      // (epoch position, running loss, running accuracy)
	history  []runspec.EpochStats
	result   *msg.TrainResult
	running  runspec.Settings // the settings of the run shown
	err      string
	largest  int
	notice   string

	runs        []storage.Run
	checkpoints []storage.Checkpoint
	storeErr    string

	stopWatch func()
	formRev   int // bumped when the page changes the form itself
	// pageCtx is the page's own context: handlers in the child views use
	// it to redraw the whole page after changing its state.
	pageCtx app.Context
	mounted bool

	pendMu       sync.Mutex
	pendProgress *TrainEvent // the newest progress, applied at most every progressEvery
	pendTimer    bool
}

// progressEvery is how often progress redraws the page at most: the UI
// thread stays idle while the workers compute.
const progressEvery = 500 * time.Millisecond

// trainForm is the settings being edited; the network's (architecture,
// width, head, input size, freezing, weights) are the app's ModelChoice,
// which the Model page edits too.
type trainForm struct {
	S       runspec.Settings
	Workers int
}

// datasetKey is where the chosen dataset is remembered (localStorage).
const datasetKey = "goresnet.dataset"

func defaultForm(workers int) trainForm {
	s := runspec.DefaultSettings()
	s.Epochs, s.Batch, s.LR, s.Schedule = 5, 32, 0.05, "cosine"
	s.SaveBest = "val_accuracy"
	return trainForm{S: s, Workers: max(1, workers)}
}

// OnInit fills the form with the defaults (before the first render, on
// the server too).
func (p *TrainPage) OnInit() {
	if !p.formInit {
		w := 1
		if tr := training(); tr != nil {
			w = tr.Workers()
		}
		p.form, p.formInit = defaultForm(w), true
	}
}

// redraw redraws the page (from a child view's handler).
func (p *TrainPage) redraw() {
	if p.mounted {
		p.pageCtx.Dispatch(func(app.Context) {})
	}
}

func (p *TrainPage) OnMount(ctx app.Context) {
	p.pageCtx, p.mounted = ctx, true
	tr := training()
	if tr == nil {
		return
	}
	p.stopWatch = tr.Watch(func(e TrainEvent) {
		if e.Kind == EventProgress {
			// Coalesce: only the newest progress is drawn, at most every
			// progressEvery.
			p.pendMu.Lock()
			p.pendProgress = &e
			schedule := !p.pendTimer
			p.pendTimer = true
			p.pendMu.Unlock()
			if schedule {
				time.AfterFunc(progressEvery, func() {
					p.pendMu.Lock()
					pe := p.pendProgress
					p.pendProgress, p.pendTimer = nil, false
					p.pendMu.Unlock()
					if pe != nil {
						ctx.Dispatch(func(ctx app.Context) { p.apply(ctx, *pe) })
					}
				})
			}
			return
		}
		if e.Kind == EventDone || e.Kind == EventFailed || e.Kind == EventStarting {
			p.pendMu.Lock()
			p.pendProgress = nil
			p.pendMu.Unlock()
		}
		ctx.Dispatch(func(ctx app.Context) { p.apply(ctx, e) })
	})
	if run, events := tr.Running(); run != "" {
		p.run = run
		for _, e := range events {
			p.apply(ctx, e)
		}
	}
}

func (p *TrainPage) OnDismount() {
	p.mounted = false
	if p.stopWatch != nil {
		p.stopWatch()
		p.stopWatch = nil
	}
}

func (p *TrainPage) OnNav(ctx app.Context) {
	p.OnInit()
	if !app.IsClient {
		return
	}
	loadModel(ctx)
	name := ctx.Page().URL().Query().Get("dataset")
	if name == "" {
		ctx.LocalStorage().Get(datasetKey, &name)
	}
	if name == "" {
		name = "digits"
	}
	if name != p.dataset || p.manifest == nil {
		p.dataset, p.manifest, p.manifestErr = name, nil, ""
		ctx.LocalStorage().Set(datasetKey, name)
		ctx.Async(func() {
			c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
			defer cancel()
			m, err := fetcher.Manifest(c, name)
			ctx.Dispatch(func(ctx app.Context) {
				if name != p.dataset {
					return
				}
				if err != nil {
					p.manifestErr = err.Error()
					return
				}
				p.manifest = m
				p.fitFormToDataset()
			})
		})
	}
	p.refresh(ctx)
}

// fitFormToDataset picks a validation split and the input size for the
// dataset.
func (p *TrainPage) fitFormToDataset() {
	m := p.manifest
	has := func(n string) bool { _, err := m.Split(n); return err == nil }
	switch {
	case has("validation") || has("val"):
		p.form.S.ValSplit = ""
	case has("test"):
		p.form.S.ValSplit = "test[:10%]"
	default:
		p.form.S.ValSplit = "none"
	}
}

// refresh reads the runs and checkpoints from the browser's storage.
func (p *TrainPage) refresh(ctx app.Context) {
	if p.mounted {
		ctx = p.pageCtx
	}
	db, err := store()
	if db == nil {
		if err != nil {
			p.storeErr = err.Error()
		}
		return
	}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		runs, err1 := db.Runs(c)
		cks, err2 := db.Checkpoints(c, "")
		ctx.Dispatch(func(ctx app.Context) {
			if err1 != nil || err2 != nil {
				p.storeErr = fmt.Sprint("reading the browser's storage: ", firstErr(err1, err2))
				return
			}
			p.runs, p.checkpoints, p.storeErr = runs, cks, ""
			if p.run == "" && len(runs) > 0 {
				p.showRun(&runs[0])
			}
		})
	})
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// showRun shows a stored run's history (when nothing trains).
func (p *TrainPage) showRun(r *storage.Run) {
	if p.busy() {
		return
	}
	p.run = r.ID
	p.history = r.History.Epochs
	p.live = nil
	p.progress = nil
	switch r.State {
	case storage.StateFailed:
		p.phase, p.err = "failed", r.Error
	case storage.StateFinished:
		p.phase = "done"
	default:
		p.phase = "idle"
	}
}

func (p *TrainPage) busy() bool {
	switch p.phase {
	case "starting", "training", "paused", "stopping":
		return true
	}
	return false
}

// apply updates the page with a training event.
func (p *TrainPage) apply(ctx app.Context, e TrainEvent) {
	if e.Run != "" && e.Run != p.run && e.Kind != EventStarting {
		if p.run != "" && p.busy() {
			return
		}
	}
	if e.Run != "" {
		p.run = e.Run
	}
	switch e.Kind {
	case EventStarting:
		p.phase, p.err, p.largest, p.result, p.progress, p.live, p.notice, p.saving = "starting", "", 0, nil, nil, nil, "", nil
	case EventStarted:
		p.phase, p.info = "training", e.Info
		p.history = append([]runspec.EpochStats(nil), e.Info.History.Epochs...)
		p.refresh(ctx)
	case EventProgress:
		pr := e.Progress
		if !p.busy() && p.phase != "" && p.phase != "idle" {
			return // a late report of a run that ended
		}
		p.progress = pr
		if p.phase == "starting" || p.phase == "" || p.phase == "idle" {
			p.phase = "training"
		}
		if pr.Batches > 0 {
			// The running loss, at most 20 points an epoch.
			x := float64(pr.Epoch-1) + float64(pr.Batch)/float64(pr.Batches)
			if n := len(p.live); n == 0 || x-p.live[n-1][0] >= 0.05 || pr.Batch == pr.Batches {
				p.live = append(p.live, [3]float64{x, pr.Loss, pr.Accuracy})
			}
		}
	case EventSaving:
		p.saving = e.Saving
	case EventEpoch:
		p.saving = nil
		st := e.Epoch.Stats
		for len(p.history) > 0 && p.history[len(p.history)-1].Epoch >= st.Epoch {
			p.history = p.history[:len(p.history)-1]
		}
		p.history = append(p.history, st)
		if e.Epoch.SaveError != "" {
			p.notice = "The checkpoint of epoch " + strconv.Itoa(st.Epoch) + " could not be saved: " + e.Epoch.SaveError
		}
		p.refresh(ctx)
	case EventState:
		if p.busy() {
			p.phase = e.State
		}
	case EventDone:
		p.phase, p.result, p.saving = "done", e.Result, nil
		if e.Result.State == "stopped" {
			p.phase = "stopped"
		}
		p.refresh(ctx)
	case EventFailed:
		p.phase, p.err, p.largest, p.saving = "failed", e.Err, e.Largest, nil
		p.refresh(ctx)
	}
}

// settings are the form's settings as a run's, with the Model page's
// network.
func (p *TrainPage) settings() runspec.Settings {
	s := p.form.S
	s.Data = "/data/" + p.dataset + "/"
	s.Replicas = p.form.Workers
	m := currentModel()
	s.Arch, s.WidthDiv, s.Head, s.Size = m.Arch, m.WidthDiv, m.Head, m.Size
	s.HeadOnly, s.Freeze = m.freezeSettings()
	s.Weights = m.WeightsName
	return s
}

// freezeSettings are the choice's freezing as the train settings say it.
func (m ModelChoice) freezeSettings() (headOnly bool, freeze string) {
	switch m.Freeze {
	case "head":
		return true, ""
	case "up-to":
		var fr []string
		for _, u := range freezeGroups {
			fr = append(fr, u)
			if u == m.FreezeUpTo {
				break
			}
		}
		return false, strings.Join(fr, ",")
	}
	return false, ""
}

var freezeGroups = []string{"conv1", "layer1", "layer2", "layer3", "layer4"}

func (p *TrainPage) start(ctx app.Context, resume *storage.Run, from *storage.Checkpoint) {
	tr := training()
	if tr == nil {
		p.phase, p.err = "failed", "training needs the browser app (the worker pool is not running)"
		return
	}
	db, _ := store()
	s := TrainStart{Dataset: p.dataset, Workers: p.form.Workers}
	var run *storage.Run
	switch {
	case resume != nil:
		run = resume
		s.Run, s.Dataset, s.Settings, s.Resume = resume.ID, resume.Dataset, resume.Settings, resume.Last
		s.Settings.Replicas = s.Workers
	case from != nil:
		s.Run = storage.NewRunID(time.Now())
		s.Settings = p.settings()
		if from.Settings != nil {
			epochs := from.Epoch + p.form.S.Epochs
			s.Settings = *from.Settings
			s.Settings.Epochs = epochs
			s.Settings.Data = "/data/" + p.dataset + "/"
			s.Settings.Replicas = s.Workers
		}
		s.Resume = from.ID
		run = &storage.Run{ID: s.Run, Created: time.Now(), Dataset: p.dataset, Settings: s.Settings, State: storage.StateTraining}
	default:
		s.Run = storage.NewRunID(time.Now())
		s.Settings = p.settings()
		m := currentModel()
		s.Weights, s.WeightsName = m.Weights, m.WeightsName
		run = &storage.Run{ID: s.Run, Created: time.Now(), Dataset: p.dataset, Settings: s.Settings, State: storage.StateTraining}
	}
	if err := s.Settings.Check(); err != nil {
		p.phase, p.err = "failed", err.Error()
		return
	}
	p.running = s.Settings
	if resume != nil || from != nil {
		// The form shows the settings the run goes on with.
		p.form.S = s.Settings
		updateModel(p.pageCtx, func(m *ModelChoice) {
			m.Arch, m.WidthDiv, m.Head, m.Size = s.Settings.Arch, max(1, s.Settings.WidthDiv), s.Settings.Head, s.Settings.Size
			m.Freeze = "full"
			if s.Settings.HeadOnly {
				m.Freeze = "head"
			} else if s.Settings.Freeze != "" {
				fr := strings.Split(s.Settings.Freeze, ",")
				m.Freeze, m.FreezeUpTo = "up-to", fr[len(fr)-1]
			}
		})
		p.formRev++
	}
	p.run, p.history, p.live, p.progress, p.info, p.phase, p.err, p.largest = s.Run, nil, nil, nil, nil, "starting", "", 0
	if resume != nil {
		p.history = resume.History.Epochs
	}
	p.redraw()
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if db != nil && resume == nil {
			if err := db.PutRun(c, run); err != nil {
				ctx.Dispatch(func(app.Context) { p.phase, p.err = "failed", err.Error() })
				return
			}
		}
		// Errors arrive as events too (with the largest batch that fits).
		if err := tr.Start(c, s); err != nil {
			ctx.Dispatch(func(app.Context) {
				if p.phase == "starting" {
					p.phase, p.err = "failed", err.Error()
					p.redraw()
				}
			})
		}
	})
}

func (p *TrainPage) command(c string) {
	if tr := training(); tr != nil {
		if err := tr.Command(c); err != nil {
			p.notice = err.Error()
			p.redraw()
		}
	}
}

// resumable is the newest stored run that can go on (nothing trains).
func (p *TrainPage) resumable() *storage.Run {
	if p.busy() {
		return nil
	}
	for i := range p.runs {
		if p.runs[i].Resumable() {
			return &p.runs[i]
		}
	}
	return nil
}

func (p *TrainPage) Render() app.UI {
	p.OnInit()
	size := currentModel().Size
	if size == 0 && p.manifest != nil {
		size = p.manifest.Image.Height
	}
	workers := 1
	if tr := training(); tr != nil {
		workers = tr.Workers()
	}
	busy := p.busy()
	epochs := p.form.S.Epochs
	if p.progress != nil {
		epochs = p.progress.Epochs
	}
	// Children redraw only when their fields change: progress does not
	// redraw the form, the checkpoints or the help.
	return layout("/train",
		app.H1().Text("Train"),
		p.renderDataset(),
		app.If(p.resumable() != nil, p.renderResume),
		&TrainFormView{Page: p, Busy: busy, Workers: workers, Size: size, Rev: p.formRev},
		&TrainStatusView{Page: p, Phase: p.phase, HasData: p.manifest != nil, Err: p.err, Largest: p.largest, Notice: p.notice,
			Info: p.info, Progress: p.progress, Result: p.result, Workers: p.running.Replicas, Batch: p.running.Batch},
		&TrainChartsView{History: p.history, Live: p.live, Epochs: epochs},
		&TrainEpochsView{History: p.history},
		&TrainCheckpointsView{Page: p, Checkpoints: p.checkpoints, Busy: busy, HasData: p.manifest != nil, StoreErr: p.storeErr},
		&trainHelp{},
	)
}

// TrainFormView is the settings form (train_form.go).
type TrainFormView struct {
	app.Compo
	Page          *TrainPage
	Busy          bool
	Workers, Size int
	Rev           int
}

func (v *TrainFormView) Render() app.UI { return v.Page.renderForm() }

// TrainStatusView is the buttons, the progress and the errors.
type TrainStatusView struct {
	app.Compo
	Page           *TrainPage
	Phase          string
	HasData        bool
	Err, Notice    string
	Largest        int
	Info           *msg.ModelInfo
	Progress       *msg.ProgressReport
	Result         *msg.TrainResult
	Workers, Batch int
}

func (v *TrainStatusView) Render() app.UI {
	return app.Div().Body(v.Page.renderControls(), v.Page.renderProgress())
}

// TrainChartsView is the loss and accuracy charts.
type TrainChartsView struct {
	app.Compo
	History []runspec.EpochStats
	Live    [][3]float64
	Epochs  int
}

func (v *TrainChartsView) Render() app.UI { return renderCharts(v.History, v.Live, v.Epochs) }

// TrainEpochsView is the epoch table.
type TrainEpochsView struct {
	app.Compo
	History []runspec.EpochStats
}

func (v *TrainEpochsView) Render() app.UI { return renderEpochs(v.History) }

// TrainCheckpointsView is the checkpoints list and the import.
type TrainCheckpointsView struct {
	app.Compo
	Page        *TrainPage
	Checkpoints []storage.Checkpoint
	Busy        bool
	HasData     bool
	StoreErr    string
}

func (v *TrainCheckpointsView) Render() app.UI { return v.Page.renderCheckpoints() }

// trainHelp explains how training runs (static).
type trainHelp struct{ app.Compo }

func (h *trainHelp) Render() app.UI { return renderTrainHelp() }

func (p *TrainPage) renderDataset() app.UI {
	var body []app.UI
	body = append(body, app.Text("Dataset: "), app.A().Href("/data?name="+url.QueryEscape(p.dataset)).ID("gr-train-dataset").Text(p.dataset))
	switch {
	case p.manifestErr != "":
		body = append(body, app.Span().Class("gr-error").Text(" (could not read it: "+p.manifestErr+")"))
	case p.manifest != nil:
		m := p.manifest
		body = append(body, app.Text(fmt.Sprintf(" — %d classes, %s; %s. ", len(m.Classes), imageText(m.Image), splitsOf(m))))
	}
	body = append(body, app.A().Href("/data").Text("Choose another"))
	return app.P().ID("gr-train-data").Body(body...)
}

func splitsOf(m *data.Manifest) string {
	var s []string
	for _, sp := range m.Splits {
		s = append(s, fmt.Sprintf("%s %s", sp.Name, thousands(int64(sp.Count))))
	}
	return strings.Join(s, ", ")
}

func (p *TrainPage) renderResume() app.UI {
	r := p.resumable()
	epochs := len(r.History.Epochs)
	what := map[string]string{storage.StateTraining: "was interrupted (the page was reloaded or closed)", storage.StatePaused: "was paused",
		storage.StateStopped: "was stopped", storage.StateFailed: "failed"}[r.State]
	return app.Section().ID("gr-train-resume").Class("gr-banner").DataSet("run", r.ID).Body(
		app.P().Text(fmt.Sprintf("Run %s (%s, %s width 1/%d on %s) %s after %d of %d epochs. Its last checkpoint is kept in this browser.",
			r.ID, r.Settings.Arch, r.Settings.Head, max(1, r.Settings.WidthDiv), r.Dataset, what, epochs, r.Settings.Epochs)),
		app.Button().ID("gr-train-resume-run").Text("Resume from the last checkpoint").OnClick(func(ctx app.Context, e app.Event) {
			if r := p.resumable(); r != nil { // now, not when the button was drawn
				p.start(ctx, r, nil)
			}
		}),
	)
}

func (p *TrainPage) renderControls() app.UI {
	busy := p.busy()
	return app.Div().Class("gr-controls").Body(
		app.Button().ID("gr-train-start").Text("Start training").Disabled(busy || p.manifest == nil).OnClick(func(ctx app.Context, e app.Event) {
			p.start(ctx, nil, nil)
		}),
		app.Button().ID("gr-train-pause").Text("Pause").Disabled(p.phase != "training").OnClick(func(ctx app.Context, e app.Event) { p.command("pause") }),
		app.Button().ID("gr-train-continue").Text("Resume").Disabled(p.phase != "paused").OnClick(func(ctx app.Context, e app.Event) { p.command("resume") }),
		app.Button().ID("gr-train-stop").Text("Stop").Disabled(!(p.phase == "training" || p.phase == "paused")).OnClick(func(ctx app.Context, e app.Event) { p.command("stop") }),
		app.Span().ID("gr-train-phase").DataSet("phase", p.phase).Text(phaseText(p.phase)),
	)
}

func phaseText(s string) string {
	switch s {
	case "starting":
		return "The workers are building their replicas…"
	case "training":
		return "Training."
	case "paused":
		return "Paused."
	case "stopping":
		return "Stopping at the next step…"
	case "stopped":
		return "Stopped: the last checkpoint is kept; resume it from the banner above."
	case "done":
		return "Finished."
	case "failed":
		return "Training stopped with an error."
	}
	return ""
}

func (p *TrainPage) renderProgress() app.UI {
	var kids []app.UI
	if p.err != "" {
		msg := p.err
		kids = append(kids, app.P().ID("gr-train-error").Class("gr-error").Body(
			app.Text(msg),
			app.If(p.largest > 0, func() app.UI {
				return app.Button().ID("gr-train-use-largest").Text(fmt.Sprintf("Use a batch of %d", p.largest)).OnClick(func(ctx app.Context, e app.Event) {
					p.form.S.Batch, p.err, p.largest, p.phase = p.largest, "", 0, "idle"
					p.formRev++
					p.redraw()
				})
			}),
		))
	}
	if p.notice != "" {
		kids = append(kids, app.P().ID("gr-train-notice").Class("gr-note").Text(p.notice))
	}
	if p.info != nil {
		in := p.info
		line := fmt.Sprintf("%s, %d classes, %d×%d input: %s parameters, %s trainable; %d batches of %d per epoch on %d worker(s); about %s of memory per worker.",
			in.Arch, in.Classes, in.Size, in.Size, thousands(int64(in.Params)), thousands(int64(in.Trainable)), in.Batches, p.running.Batch,
			p.running.ReplicaCount(), mibText(in.Memory.Total))
		if in.FeatureCache {
			line += " Head only: the backbone's features are computed once, later epochs run the head alone."
		}
		kids = append(kids, app.P().ID("gr-train-info").Text(line))
		for _, n := range in.Notes {
			kids = append(kids, app.P().Class("gr-note").Text(n))
		}
	}
	pr := p.progress
	if pr != nil && p.busy() {
		frac := float64(pr.Batch) / float64(max(pr.Batches, 1))
		total := (float64(pr.Epoch-1) + frac) / float64(max(pr.Epochs, 1))
		eta := "—"
		if pr.ImagesPerSecond > 0 && p.info != nil {
			left := float64(pr.Epochs-pr.Epoch)*float64(p.info.Examples) + float64(p.info.Examples-pr.Images)
			eta = durationText(time.Duration(left / pr.ImagesPerSecond * float64(time.Second)))
		}
		kids = append(kids, app.Div().ID("gr-progress").DataSet("epoch", pr.Epoch).DataSet("batch", pr.Batch).DataSet("step", pr.Step).
			DataSet("loss", fmt.Sprintf("%.6g", pr.Loss)).DataSet("accuracy", fmt.Sprintf("%.6g", pr.Accuracy)).Body(
			app.Progress().ID("gr-progress-bar").Max(1).Value(fmt.Sprintf("%.4f", total)),
			app.Span().Text(fmt.Sprintf("epoch %d/%d, batch %d/%d — loss %.4f, accuracy %.3f — %.1f images/s — %s left",
				pr.Epoch, pr.Epochs, pr.Batch, pr.Batches, pr.Loss, pr.Accuracy, pr.ImagesPerSecond, eta)),
		))
	}
	if sv := p.saving; sv != nil && p.busy() {
		// A big model's checkpoint (ResNet-50: ~200 MB) takes a while to
		// write; until it is, a reload resumes from the previous one.
		kids = append(kids, app.P().ID("gr-train-saving").Class("gr-note").DataSet("checkpoint", sv.Checkpoint).
			Text(fmt.Sprintf("Saving the checkpoint of epoch %d (%s)…", sv.Epoch, bytesText(sv.Bytes))))
	}
	if p.result != nil {
		r := p.result
		kids = append(kids, app.P().ID("gr-train-result").DataSet("state", r.State).Text(fmt.Sprintf("%s after %d epochs, %d steps (%s in this session).",
			strings.ToUpper(r.State[:1])+r.State[1:], r.Epoch, r.Step, durationText(time.Duration(r.Seconds*float64(time.Second))))))
	}
	return app.Section().ID("gr-train-status").Body(kids...)
}

func renderCharts(history []runspec.EpochStats, live [][3]float64, epochs int) app.UI {
	var trainLoss, trainAcc, valLoss, valAcc, liveLoss, liveAcc [][2]float64
	for _, e := range history {
		trainLoss = append(trainLoss, [2]float64{float64(e.Epoch), e.Loss})
		trainAcc = append(trainAcc, [2]float64{float64(e.Epoch), e.Accuracy})
		if e.HasVal {
			valLoss = append(valLoss, [2]float64{float64(e.Epoch), e.ValLoss})
			valAcc = append(valAcc, [2]float64{float64(e.Epoch), e.ValAccuracy})
		}
	}
	for _, l := range live {
		liveLoss = append(liveLoss, [2]float64{l[0], l[1]})
		liveAcc = append(liveAcc, [2]float64{l[0], l[2]})
	}
	loss := Chart{ID: "gr-chart-loss", Title: "Loss", XMax: float64(epochs), Series: []Series{
		{Name: "train (running)", Class: "gr-s-live", Points: liveLoss},
		{Name: "train", Class: "gr-s-train", Points: trainLoss, Dots: true},
		{Name: "validation", Class: "gr-s-val", Points: valLoss, Dots: true},
	}}
	acc := Chart{ID: "gr-chart-accuracy", Title: "Accuracy", XMax: float64(epochs), YMin: 0, YMax: 1, Series: []Series{
		{Name: "train (running)", Class: "gr-s-live", Points: liveAcc},
		{Name: "train", Class: "gr-s-train", Points: trainAcc, Dots: true},
		{Name: "validation", Class: "gr-s-val", Points: valAcc, Dots: true},
	}}
	return app.Div().ID("gr-charts").Class("gr-charts").Body(app.Raw(loss.SVG()), app.Raw(acc.SVG()))
}

func renderEpochs(h []runspec.EpochStats) app.UI {
	f := func(v float64) string { return fmt.Sprintf("%.4f", v) }
	return app.Section().Body(
		app.H2().Text("Epochs"),
		app.If(len(h) == 0, func() app.UI { return app.P().Text("No epoch finished yet.") }),
		app.If(len(h) > 0, func() app.UI {
			return app.Table().ID("gr-epochs").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Epoch"), app.Th().Class("gr-num").Text("Loss"), app.Th().Class("gr-num").Text("Accuracy"),
					app.Th().Class("gr-num").Text("Val loss"), app.Th().Class("gr-num").Text("Val accuracy"), app.Th().Class("gr-num").Text("Val top-5"),
					app.Th().Class("gr-num").Text("LR"), app.Th().Class("gr-num").Text("Time"), app.Th().Class("gr-num").Text("Images/s"),
				)),
				app.TBody().Body(app.Range(h).Slice(func(i int) app.UI {
					e := h[i]
					val := func(v float64) string {
						if !e.HasVal {
							return "—"
						}
						return f(v)
					}
					ips := 0.0
					if e.Seconds > 0 {
						ips = float64(e.Images) / e.Seconds
					}
					return app.Tr().DataSet("epoch", e.Epoch).DataSet("loss", fmt.Sprintf("%.6g", e.Loss)).Body(
						app.Td().Text(e.Epoch), app.Td().Class("gr-num").Text(f(e.Loss)), app.Td().Class("gr-num").Text(f(e.Accuracy)),
						app.Td().Class("gr-num").Text(val(e.ValLoss)), app.Td().Class("gr-num").Text(val(e.ValAccuracy)), app.Td().Class("gr-num").Text(val(e.ValTop5)),
						app.Td().Class("gr-num").Text(fmt.Sprintf("%.3g", e.LR)), app.Td().Class("gr-num").Text(fmt.Sprintf("%.1f s", e.Seconds)),
						app.Td().Class("gr-num").Text(fmt.Sprintf("%.1f", ips)),
					)
				})),
			)
		}),
	)
}

func (p *TrainPage) renderCheckpoints() app.UI {
	cks := p.checkpoints
	return app.Section().Body(
		app.H2().Text("Checkpoints"),
		app.P().Text("Kept in this browser after every epoch (the best by the monitored metric, the newest three, and where training was stopped); "+
			"the CLI's format: a downloaded checkpoint works with goresnet evaluate, predict, export and train --resume."),
		app.If(p.storeErr != "", func() app.UI { return app.P().Class("gr-error").Text(p.storeErr) }),
		app.If(len(cks) == 0 && p.storeErr == "", func() app.UI { return app.P().ID("gr-checkpoints-empty").Text("None yet.") }),
		app.If(len(cks) > 0, func() app.UI {
			return app.Table().ID("gr-checkpoints").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(
					app.Th().Text("Checkpoint"), app.Th().Text("Run"), app.Th().Class("gr-num").Text("Epoch"), app.Th().Class("gr-num").Text("Step"),
					app.Th().Class("gr-num").Text("Loss"), app.Th().Class("gr-num").Text("Val accuracy"), app.Th().Text("Best"),
					app.Th().Class("gr-num").Text("Size"), app.Th().Text(""),
				)),
				app.TBody().Body(app.Range(cks).Slice(func(i int) app.UI {
					c := cks[i]
					loss, vacc := "—", "—"
					if c.Metrics != nil {
						loss = fmt.Sprintf("%.4f", c.Metrics.Loss)
						if c.Metrics.HasVal {
							vacc = fmt.Sprintf("%.4f", c.Metrics.ValAccuracy)
						}
					}
					best := ""
					if c.Best {
						best = "★ best"
					}
					row := app.Tr().DataSet("id", c.ID).DataSet("kind", c.Kind).DataSet("best", map[bool]string{true: "yes", false: "no"}[c.Best])
					if c.Best {
						row = row.Class("gr-best")
					}
					return row.Body(
						app.Td().Title(c.ID).Text(c.Name),
						app.Td().Text(c.Run),
						app.Td().Class("gr-num").Text(c.Epoch),
						app.Td().Class("gr-num").Text(c.Step),
						app.Td().Class("gr-num").Text(loss),
						app.Td().Class("gr-num").Text(vacc),
						app.Td().Text(best),
						app.Td().Class("gr-num").Text(bytesText(c.Bytes)),
						app.Td().Body(
							// Handlers read the checkpoint's id from the button
							// (go-app keeps a reused element's first handler).
							app.Button().Class("gr-download").DataSet("id", c.ID).Text("Download").OnClick(func(ctx app.Context, e app.Event) {
								p.download(ctx, ctx.JSSrc().Get("dataset").Get("id").String())
							}),
							app.If(c.Kind == storage.KindImport, func() app.UI {
								return app.Button().Class("gr-train-from").DataSet("id", c.ID).Text("Train from this").Disabled(p.busy() || p.manifest == nil).
									OnClick(func(ctx app.Context, e app.Event) {
										id := ctx.JSSrc().Get("dataset").Get("id").String()
										for i := range p.checkpoints {
											if p.checkpoints[i].ID == id {
												ck := p.checkpoints[i]
												p.start(ctx, nil, &ck)
											}
										}
									})
							}),
						),
					)
				})),
			)
		}),
		app.P().Body(
			app.Label().For("gr-import-file").Text("Import a checkpoint (e.g. made by goresnet train): "),
			app.Input().Type("file").ID("gr-import-file").Accept(".safetensors").OnChange(func(ctx app.Context, e app.Event) { p.importPicked(ctx) }),
		),
	)
}

func (p *TrainPage) download(ctx app.Context, id string) {
	tr := training()
	if tr == nil {
		return
	}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tr.Download(c, id); err != nil {
			ctx.Dispatch(func(app.Context) { p.notice = "Download: " + err.Error(); p.redraw() })
		}
	})
}

func (p *TrainPage) importPicked(ctx app.Context) {
	tr := training()
	file, name := pickedFile("gr-import-file")
	if tr == nil || file == nil {
		return
	}
	p.notice = "Checking " + name + "…"
	p.redraw()
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		ck, err := tr.ImportCheckpoint(c, file, name)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.notice = "Import: " + err.Error()
				p.redraw()
				return
			}
			p.notice = fmt.Sprintf("Imported %s: %s, %d classes, epoch %d. It is now the current model.", ck.Name, ck.Arch, ck.Classes, ck.Epoch)
			p.redraw()
			p.refresh(ctx)
		})
	})
}

func renderTrainHelp() app.UI {
	return app.Section().ID("gr-train-help").Class("gr-help").Body(
		app.H2().Text("How training runs here"),
		app.P().Text("Each worker is a Web Worker running the same Go code as the goresnet command line, compiled to WebAssembly, and holds a replica "+
			"of the network. Every batch is split across the workers: each computes the gradient of its part, the gradients are summed through "+
			"shared memory at every step, and every worker takes the same optimizer step, so the replicas stay identical. Nothing leaves your machine."),
		app.P().Text("Batch norm: frozen batch norms (frozen layers, head-only fine-tuning) give exactly the update one worker would compute on the "+
			"whole batch. Batch norms that learn normalise with each worker's own part of the batch, as PyTorch's DistributedDataParallel does "+
			"without SyncBatchNorm: with 2 workers and a batch of 32, each normalises over 16 images (their running averages are averaged across workers)."),
		app.P().Text("Memory: each worker is limited to about 4 GB by WebAssembly. Before training, the memory a worker needs (weights, gradients, "+
			"optimizer state, activations for its part of the batch, data) is estimated; a batch that would not fit is refused with the largest that does. "+
			"More workers hold smaller parts of the batch."),
		app.P().Text("Checkpoints and the history are saved in this browser (IndexedDB) after every epoch; reload the page or close the tab and the run "+
			"resumes from its last checkpoint."),
	)
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
}

func mibText(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
