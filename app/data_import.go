package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The Data page's local datasets: importing the person's own pictures
// (a dropped or picked folder with one folder per class, or pictures
// picked with a label typed for them) in a worker, with the CLI's
// importer; the list of datasets kept in this browser, with a delete
// button; and, for any chosen dataset, the class counts and a strip of
// example pictures per class (from a worker).

// Element ids of the import panel.
const (
	dropID        = "gr-drop"
	folderInputID = "gr-import-folder"
	filesInputID  = "gr-import-files"
)

// importState is the import panel's state.
type importState struct {
	files    []PickedFile
	label    string // for pictures picked without a folder
	name     string
	nameSet  bool // typed by the person (else taken from the folder)
	size     int
	testPct  float64
	seed     uint64
	over     bool // something is dragged over the drop zone
	running  bool
	progress *msg.ImportProgressReport
	err      string
	done     *msg.DatasetImportResult
}

// importTimeout bounds one import as the page waits for it.
const importTimeout = 2 * time.Hour

func (p *DataPage) initImport() {
	if p.imp.size == 0 {
		p.imp.size, p.imp.testPct = 64, 20
	}
}

// pageCtx is the page's own context (from OnMount) in place of a
// button's: what a button starts is answered later, and a Dispatch on the
// context of an element that the answer's wait removed from the page
// (the button itself) would be dropped.
func (p *DataPage) pageCtx(ctx app.Context) app.Context {
	if p.mounted {
		return p.mountCtx
	}
	return ctx
}

func (p *DataPage) setLocal(ls []LocalDataset, err error) {
	p.localRead = true
	if err != nil {
		p.local, p.localErr = nil, err.Error()
		return
	}
	p.local, p.localErr = ls, ""
}

// chosenLocal is the chosen dataset when it is a local one.
func (p *DataPage) chosenLocal() *LocalDataset {
	for i := range p.local {
		if p.local[i].Manifest.Name == p.name {
			return &p.local[i]
		}
	}
	return nil
}

// readSummary asks a worker for a server dataset's class counts and
// examples (a local dataset's were made when it was imported). It is
// asked for with a button: the worker downloads the dataset's shards
// (the first ones only, for a big dataset) to read them.
func (p *DataPage) readSummary(ctx app.Context) {
	ctx = p.pageCtx(ctx)
	ld, name := localData(), p.name
	if ld == nil || name == "" || (p.summaryFor == name && p.summaryErr == "") {
		return
	}
	p.summaryFor, p.summary, p.summaryErr = name, nil, ""
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s, err := ld.Summary(c, name)
		ctx.Dispatch(func(app.Context) { p.setSummary(name, s, err) })
	})
}

func (p *DataPage) setSummary(name string, s *msg.DatasetSummary, err error) {
	if name != p.summaryFor {
		return
	}
	if err != nil {
		p.summary, p.summaryErr = nil, err.Error()
		return
	}
	p.summary, p.summaryErr = s, ""
}

// addFiles adds picked or dropped files to the import.
func (p *DataPage) addFiles(files []PickedFile) {
	p.imp.err, p.imp.done = "", nil
	have := map[string]bool{}
	for _, f := range p.imp.files {
		have[f.Path] = true
	}
	for _, f := range files {
		if !have[f.Path] {
			p.imp.files = append(p.imp.files, f)
			have[f.Path] = true
		}
	}
	if !p.imp.nameSet {
		p.imp.name = suggestName(p.imp.files)
	}
}

// suggestName names a dataset after the folder the files came in, made a
// valid dataset name.
func suggestName(files []PickedFile) string {
	top := ""
	for _, f := range files {
		first, _, ok := strings.Cut(strings.TrimPrefix(f.Path, "/"), "/")
		if !ok || (top != "" && first != top) {
			top = ""
			break
		}
		top = first
	}
	if cls := pickedClasses(files); top != "" && len(cls) > 0 && cls[0].Name == top {
		top = "" // the files are in class folders, not in one folder of classes
	}
	var b strings.Builder
	for _, r := range strings.ToLower(top) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-':
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if data.ValidName(name) != nil {
		return "my-pictures"
	}
	return name
}

// ClassCount is a class folder among the picked files and its file count.
type ClassCount struct {
	Name  string
	Files int
}

// pickedClasses tells the class folders the picked files will make (as
// importer.FileList.StripCommonFolder and the imagefolder reader will see
// them), sorted; files outside any folder are counted under "".
func pickedClasses(files []PickedFile) []ClassCount {
	split := make([][]string, len(files))
	top, same := "", true
	for i, f := range files {
		split[i] = strings.Split(strings.Trim(f.Path, "/"), "/")
		if i == 0 {
			top = split[i][0]
		}
		same = same && len(split[i]) >= 3 && split[i][0] == top
	}
	counts := map[string]int{}
	for _, parts := range split {
		if same {
			parts = parts[1:]
		}
		if len(parts) < 2 {
			counts[""]++
			continue
		}
		counts[parts[0]]++
	}
	out := make([]ClassCount, 0, len(counts))
	for n, c := range counts {
		out = append(out, ClassCount{n, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// checkImport says what keeps the import from starting ("" when nothing).
func (p *DataPage) checkImport() string {
	switch {
	case len(p.imp.files) == 0:
		return "Choose pictures first: drop a folder, choose a folder, or pick pictures and give them a label."
	case data.ValidName(p.imp.name) != nil:
		return "Dataset name: " + data.ValidName(p.imp.name).Error()
	case p.imp.size < 8 || p.imp.size > 512:
		return fmt.Sprintf("Image size %d: choose 8 to 512 pixels.", p.imp.size)
	case p.imp.testPct < 0 || p.imp.testPct >= 100:
		return fmt.Sprintf("Validation share %g%%: choose 0 to 99%%.", p.imp.testPct)
	}
	for _, l := range p.local {
		if l.Manifest.Name == p.imp.name {
			return fmt.Sprintf("This browser already has a dataset named %q: choose another name, or delete it first.", p.imp.name)
		}
	}
	if p.index != nil {
		for _, d := range p.index.Datasets {
			if d.Name == p.imp.name {
				return fmt.Sprintf("The server offers a dataset named %q: choose another name.", p.imp.name)
			}
		}
	}
	return ""
}

func (p *DataPage) startImport(ctx app.Context) {
	ctx = p.pageCtx(ctx)
	if msg := p.checkImport(); msg != "" {
		p.imp.err = msg
		return
	}
	ld := localData()
	if ld == nil {
		p.imp.err = "Importing needs the app's workers, which are not running here."
		return
	}
	if t := training(); t != nil {
		if run, _ := t.Running(); run != "" {
			p.imp.err = "The workers are training (run " + run + "): import when it has finished or stopped."
			return
		}
	}
	req := msg.DatasetImportRequest{Name: p.imp.name, Size: p.imp.size, Seed: p.imp.seed, TestFraction: p.imp.testPct / 100,
		Description: fmt.Sprintf("imported in this browser on %s", time.Now().Format("2 Jan 2006"))}
	files := p.imp.files
	p.imp.running, p.imp.err, p.imp.done = true, "", nil
	p.imp.progress = &msg.ImportProgressReport{Name: req.Name, Phase: "starting", Total: len(files)}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), importTimeout)
		defer cancel()
		res, err := ld.Import(c, req, files, func(r msg.ImportProgressReport) {
			ctx.Dispatch(func(app.Context) {
				if p.imp.running {
					p.imp.progress = &r
				}
			})
		})
		ctx.Dispatch(func(ctx app.Context) {
			p.imp.running, p.imp.progress = false, nil
			if err != nil {
				p.imp.err = "The import failed: " + err.Error()
				return
			}
			p.imp.done, p.imp.files, p.imp.nameSet, p.imp.name = res, nil, false, ""
			clearInput(folderInputID)
			clearInput(filesInputID)
			// The new dataset is listed from the import's answer (what was
			// stored), without reading the storage again.
			d := LocalDataset{Manifest: res.Manifest, Report: &res.Report, Summary: &res.Summary}
			for _, sp := range res.Manifest.Splits {
				for _, sh := range sp.Shards {
					d.Bytes += sh.Bytes
				}
			}
			p.local, p.localRead = append(slicesDeleteName(p.local, req.Name), d), true
			sort.Slice(p.local, func(i, j int) bool { return p.local[i].Manifest.Name < p.local[j].Manifest.Name })
			ctx.Navigate("/data?name=" + url.QueryEscape(req.Name))
		})
	})
}

func (p *DataPage) deleteLocal(ctx app.Context, name string) {
	ctx = p.pageCtx(ctx)
	ld := localData()
	if ld == nil {
		return
	}
	ctx.Async(func() {
		c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		defer cancel()
		err := ld.Delete(c, name)
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.localErr = "Could not delete " + name + ": " + err.Error()
				return
			}
			p.local = slicesDeleteName(p.local, name)
			if p.name == name {
				ctx.Navigate("/data")
			}
		})
	})
}

func slicesDeleteName(ls []LocalDataset, name string) []LocalDataset {
	out := ls[:0:0]
	for _, l := range ls {
		if l.Manifest.Name != name {
			out = append(out, l)
		}
	}
	return out
}

// renderLocal is the list of the datasets kept in this browser.
func (p *DataPage) renderLocal() app.UI {
	switch {
	case p.localErr != "":
		return app.P().ID("gr-local-error").Class("gr-error").Text(p.localErr)
	case !p.localRead:
		return app.P().ID("gr-local-loading").Text("Reading the datasets kept in this browser…")
	case len(p.local) == 0:
		return app.P().ID("gr-local-empty").Class("gr-note").Text("None yet: import your pictures below.")
	}
	ls := p.local
	return app.Table().ID("gr-local").Class("gr-table").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Dataset"), app.Th().Text("Description"), app.Th().Class("gr-num").Text("Classes"),
			app.Th().Text("Image size"), app.Th().Text("Examples"), app.Th().Class("gr-num").Text("Size"), app.Th(),
		)),
		app.TBody().Body(app.Range(ls).Slice(func(i int) app.UI {
			d := ls[i]
			m := d.Manifest
			var splits []SplitSummary
			for _, sp := range m.Splits {
				splits = append(splits, SplitSummary{sp.Name, sp.Count})
			}
			row := app.Tr().DataSet("name", m.Name)
			if m.Name == p.name {
				row = row.Class("gr-chosen")
			}
			name := m.Name
			return row.Body(
				app.Td().Body(app.A().Href("/data?name="+url.QueryEscape(m.Name)).Text(m.Name)),
				app.Td().Text(m.Description),
				app.Td().Class("gr-num").Text(len(m.Classes)),
				app.Td().Text(imageText(m.Image)),
				app.Td().Text(splitsText(splits)),
				app.Td().Class("gr-num").Text(bytesText(d.Bytes)),
				// The name is read from the button when clicked: go-app keeps
				// a row's first handler when the rows shift (a dataset added
				// before it), so a captured name could be another row's.
				app.Td().Body(app.Button().Class("gr-delete").DataSet("name", name).Title("Delete "+name+" from this browser").Text("Delete").
					OnClick(func(ctx app.Context, e app.Event) {
						p.deleteLocal(ctx, ctx.JSSrc().Get("dataset").Get("name").String())
					})),
			)
		})),
	)
}

// renderReport is a local dataset's import report: the files it skipped.
func renderReport(r *msg.ImportReport) app.UI {
	if r == nil {
		return app.Text("")
	}
	sk := r.Skipped
	body := []app.UI{app.H3().Text("Import report")}
	if len(sk) == 0 {
		body = append(body, app.P().ID("gr-report-none").Text("Every file was imported."))
	} else {
		body = append(body,
			app.P().Text(fmt.Sprintf("%d files were left out:", len(sk))),
			app.Table().ID("gr-report").Class("gr-table").Body(
				app.THead().Body(app.Tr().Body(app.Th().Text("File"), app.Th().Text("Why"))),
				app.TBody().Body(app.Range(sk).Slice(func(i int) app.UI {
					return app.Tr().DataSet("file", sk[i].File).Body(app.Td().Body(app.Code().Text(sk[i].File)), app.Td().Text(sk[i].Reason))
				})),
			))
	}
	if len(r.Notes) > 0 {
		body = append(body, app.Ul().ID("gr-report-notes").Class("gr-help").Body(app.Range(r.Notes).Slice(func(i int) app.UI { return app.Li().Text(r.Notes[i]) })))
	}
	return app.Div().ID("gr-import-report").Body(body...)
}

// renderSummary is a dataset's classes with their counts per split and a
// strip of example pictures each.
func (p *DataPage) renderSummary(s *msg.DatasetSummary, errText string) app.UI {
	switch {
	case errText != "":
		return app.P().ID("gr-examples-error").Class("gr-error").Text("Could not read its examples: " + errText)
	case s == nil && localData() == nil:
		return app.Text("")
	case s == nil && p.summaryFor == p.name:
		return app.P().ID("gr-examples-loading").Text("A worker is reading the examples…")
	case s == nil:
		return app.P().Body(
			app.Button().ID("gr-examples-show").Text("Show the classes and examples").
				OnClick(func(ctx app.Context, e app.Event) { p.readSummary(ctx) }),
			app.Text(" — a worker reads the dataset's shards (they are kept for training), and counts each class when the dataset is under 128 MB."),
		)
	}
	strips := map[int]msg.ClassExamples{}
	for _, e := range s.Examples {
		strips[e.Class] = e
	}
	head := []app.UI{app.Th().Text("Class")}
	if s.Counts != nil {
		for _, sp := range s.Splits {
			head = append(head, app.Th().Class("gr-num").Text(sp))
		}
	}
	head = append(head, app.Th().Text("Examples"))
	return app.Div().Body(
		app.H3().Text("Classes and examples"),
		app.Table().ID("gr-examples").Class("gr-table").Body(
			app.THead().Body(app.Tr().Body(head...)),
			app.TBody().Body(app.Range(s.Classes).Slice(func(c int) app.UI {
				cells := []app.UI{app.Td().Text(s.Classes[c])}
				if s.Counts != nil {
					for si := range s.Splits {
						cells = append(cells, app.Td().Class("gr-num").DataSet("split", s.Splits[si]).Text(thousands(int64(s.Counts[si][c]))))
					}
				}
				if e, ok := strips[c]; ok {
					cells = append(cells, app.Td().Body(app.Img().Class("gr-strip").Alt(fmt.Sprintf("%d examples of %s", e.N, s.Classes[c])).
						Src("data:image/png;base64,"+base64.StdEncoding.EncodeToString(e.PNG))))
				} else {
					cells = append(cells, app.Td().Class("gr-note").Text("no picture"))
				}
				return app.Tr().DataSet("class", s.Classes[c]).Body(cells...)
			})),
		),
	)
}

func (p *DataPage) renderImport() app.UI {
	p.initImport()
	im := &p.imp
	drop := app.Div().ID(dropID).Class("gr-drop")
	if im.over {
		drop = drop.Class("gr-drop-over")
	}
	classes := pickedClasses(im.files)
	var chosen app.UI = app.P().ID("gr-import-chosen").Class("gr-note").Text("No pictures chosen yet.")
	if len(im.files) > 0 {
		parts := make([]string, len(classes))
		for i, c := range classes {
			n := c.Name
			if n == "" {
				n = "(outside any class folder)"
			}
			parts[i] = fmt.Sprintf("%s %d", n, c.Files)
		}
		chosen = app.P().ID("gr-import-chosen").Body(
			app.Text(fmt.Sprintf("%d files in %d folders: %s. ", len(im.files), len(classes), strings.Join(parts, ", "))),
			app.Button().ID("gr-import-clear").Text("Clear").Disabled(im.running).OnClick(func(ctx app.Context, e app.Event) {
				im.files, im.err, im.done, im.nameSet = nil, "", nil, false
				clearInput(folderInputID)
				clearInput(filesInputID)
			}),
		)
	}
	return app.Section().ID("gr-import").Body(
		app.H2().Text("Import your own pictures"),
		app.P().Class("gr-help").Text("A worker decodes each picture (JPEG, PNG, GIF or WebP; turned upright from its EXIF orientation), "+
			"resizes it with padding to a square and writes the dataset exactly as `goresnet import` does; it is kept in this browser. "+
			"Your pictures are never uploaded: nothing leaves this computer. A share of each class, chosen with the seed, is set aside "+
			"for validation. Files that are not pictures, or are damaged, are left out and listed."),
		drop.Body(
			app.Strong().Text("Drop a folder here"),
			app.Text(" with one folder per class inside it (pets/cat/…, pets/dog/…), or the class folders themselves."),
		),
		app.Div().Class("gr-form").Body(
			app.FieldSet().Body(
				app.Legend().Text("Or choose"),
				app.Div().Class("gr-field").Body(
					app.Label().For(folderInputID).Text("A folder"),
					app.Input().ID(folderInputID).Type("file").Attr("webkitdirectory", "webkitdirectory").Multiple(true).
						OnChange(func(ctx app.Context, e app.Event) { p.addFiles(pickedFolder(folderInputID)) }),
					app.Small().Text("with one folder per class inside it"),
				),
				app.Div().Class("gr-field").Body(
					app.Label().For(filesInputID).Text("Pictures"),
					app.Input().ID(filesInputID).Type("file").Multiple(true).Accept("image/*"),
					app.Small().Text("of one class: type its label, then add them"),
				),
				app.Div().Class("gr-field").Body(
					app.Label().For("gr-import-label").Text("Label"),
					app.Input().ID("gr-import-label").Type("text").Value(im.label).Placeholder("e.g. cat").
						OnInput(func(ctx app.Context, e app.Event) { im.label = ctx.JSSrc().Get("value").String() }),
				),
				app.Div().Class("gr-controls").Body(
					app.Button().ID("gr-import-add").Text("Add with this label").Disabled(im.running).OnClick(func(ctx app.Context, e app.Event) {
						label := strings.Trim(strings.TrimSpace(im.label), "/")
						if label == "" || strings.Contains(label, "/") || strings.HasPrefix(label, ".") {
							im.err = "Label: type the class of the pictures (a name without slashes, not starting with a dot)."
							return
						}
						files := pickedFiles(filesInputID, label)
						if len(files) == 0 {
							im.err = "Pick the pictures of class " + label + " first."
							return
						}
						p.addFiles(files)
						clearInput(filesInputID)
					}),
				),
			),
			app.FieldSet().Body(
				app.Legend().Text("Dataset"),
				app.Div().Class("gr-field").Body(
					app.Label().For("gr-import-name").Text("Name"),
					app.Input().ID("gr-import-name").Type("text").Value(im.name).
						OnInput(func(ctx app.Context, e app.Event) { im.name, im.nameSet = ctx.JSSrc().Get("value").String(), true }),
					app.Small().Text("letters, digits, '.', '_' or '-'"),
				),
				app.Div().Class("gr-field").Body(
					app.Label().For("gr-import-size").Text("Image size"),
					app.Input().ID("gr-import-size").Type("number").Min(8).Max(512).Value(im.size).
						OnChange(func(ctx app.Context, e app.Event) { im.size, _ = strconv.Atoi(ctx.JSSrc().Get("value").String()) }),
					app.Small().Text("pixels: pictures are stored S×S (the Train page resizes them to its input size)"),
				),
				app.Div().Class("gr-field").Body(
					app.Label().For("gr-import-test").Text("Validation %"),
					app.Input().ID("gr-import-test").Type("number").Min(0).Max(99).Value(strconv.FormatFloat(im.testPct, 'g', -1, 64)).
						OnChange(func(ctx app.Context, e app.Event) {
							im.testPct, _ = strconv.ParseFloat(ctx.JSSrc().Get("value").String(), 64)
						}),
					app.Small().Text("of each class, in the split \"test\""),
				),
				app.Div().Class("gr-field").Body(
					app.Label().For("gr-import-seed").Text("Seed"),
					app.Input().ID("gr-import-seed").Type("number").Min(0).Value(im.seed).
						OnChange(func(ctx app.Context, e app.Event) {
							im.seed, _ = strconv.ParseUint(ctx.JSSrc().Get("value").String(), 10, 64)
						}),
					app.Small().Text("orders the pictures and picks the validation ones"),
				),
			),
		),
		chosen,
		app.Div().Class("gr-controls").Body(
			app.Button().ID("gr-import-start").Text("Import").Disabled(im.running || len(im.files) == 0).
				OnClick(func(ctx app.Context, e app.Event) { p.startImport(ctx) }),
			app.If(im.progress != nil, func() app.UI { return renderImportProgress(im.progress) }),
		),
		app.If(im.err != "", func() app.UI { return app.P().ID("gr-import-error").Class("gr-error").Text(im.err) }),
		app.If(im.done != nil, func() app.UI {
			m := im.done.Manifest
			return app.P().ID("gr-import-done").Body(
				app.Text(fmt.Sprintf("Imported %s: %d classes, %s; %d files left out. ", m.Name, len(m.Classes), splitsText(manifestSplits(m)), len(im.done.Report.Skipped))),
				app.A().Href("/data?name="+url.QueryEscape(m.Name)).Text("See it"),
			)
		}),
	)
}

func manifestSplits(m *data.Manifest) []SplitSummary {
	var s []SplitSummary
	for _, sp := range m.Splits {
		s = append(s, SplitSummary{sp.Name, sp.Count})
	}
	return s
}

func renderImportProgress(r *msg.ImportProgressReport) app.UI {
	var text string
	switch r.Phase {
	case "checking":
		text = fmt.Sprintf("Checking %d files…", r.Total)
	case "split":
		text = fmt.Sprintf("Decoding and resizing %s: %d of %d", r.Split, r.Done, r.Total)
	case "summary":
		text = "Drawing the examples…"
	case "storing":
		text = "Storing the dataset in this browser…"
	default:
		text = fmt.Sprintf("Sending %d files to a worker…", r.Total)
	}
	bar := app.Progress().ID("gr-import-bar")
	if r.Phase == "split" && r.Total > 0 {
		bar = bar.Max(r.Total).Value(r.Done)
	}
	return app.Span().ID("gr-import-progress").DataSet("phase", r.Phase).Body(bar, app.Text(" "+text))
}

// dropped receives a drop's files (from a goroutine).
func (p *DataPage) dropped(ctx app.Context, files []PickedFile, err error) {
	ctx.Dispatch(func(app.Context) {
		if err != nil {
			p.imp.err = "Could not read what was dropped: " + err.Error()
			return
		}
		p.addFiles(files)
	})
}
