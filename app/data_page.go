package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/worker/msg"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// DataPage chooses the pictures to learn from: the datasets the server
// offers (GET /data/), the ones imported in this browser from the
// person's own pictures (data_import.go), and the chosen one's manifest
// (/data?name=N), class counts and examples.
type DataPage struct {
	app.Compo

	index    *DatasetIndex
	indexErr string

	name        string // the chosen dataset (?name=)
	manifest    *data.Manifest
	manifestErr string

	local     []LocalDataset // kept in this browser
	localErr  string
	localRead bool

	summary    *msg.DatasetSummary // the chosen dataset's counts and examples, from a worker
	summaryErr string
	summaryFor string

	imp         importState
	releaseDrop func()
	mountCtx    app.Context // the page's context, for answers to what buttons started
	mounted     bool
	inflight    map[string]bool // reads under way (see load)
}

func (p *DataPage) OnMount(ctx app.Context) {
	p.mountCtx, p.mounted = ctx, true
	// Ask again for what is missing: answers to requests started before
	// the mount, on another context, may have been dropped.
	p.inflight = nil
	p.load(ctx)
	p.releaseDrop = watchDrop(dropID, func(over bool) {
		ctx.Dispatch(func(app.Context) { p.imp.over = over })
	}, func(files []PickedFile, err error) { p.dropped(ctx, files, err) })
}

func (p *DataPage) OnDismount() {
	p.mounted = false
	if p.releaseDrop != nil {
		p.releaseDrop()
		p.releaseDrop = nil
	}
}

// fetchTimeout bounds each request the page makes.
const fetchTimeout = 30 * time.Second

func (p *DataPage) OnNav(ctx app.Context) {
	p.name = ctx.Page().URL().Query().Get("name")
	if p.manifest != nil && p.manifest.Name != p.name {
		p.manifest, p.manifestErr = nil, ""
	}
	if !app.IsClient {
		return // the server prerenders the page's frame; the browser fetches
	}
	p.load(ctx)
}

// load reads what the page shows and does not have yet: the server's
// index, the local datasets, the chosen dataset's manifest. It is called
// on navigation and again on mounting, on the page's own context: an
// answer dispatched on the context of an element no longer mounted is
// dropped by go-app, and the page would wait for it forever.
func (p *DataPage) load(ctx app.Context) {
	ctx = p.pageCtx(ctx)
	if p.inflight == nil {
		p.inflight = map[string]bool{}
	}
	start := func(key string, f func()) {
		if p.inflight[key] {
			return
		}
		p.inflight[key] = true
		ctx.Async(f)
	}
	if !p.localRead && localData() != nil {
		ld := localData()
		start("local", func() {
			c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
			defer cancel()
			ls, err := ld.List(c)
			ctx.Dispatch(func(app.Context) {
				delete(p.inflight, "local")
				p.setLocal(ls, err)
			})
		})
	}
	if p.index == nil {
		start("index", func() {
			c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
			defer cancel()
			idx, err := fetcher.Index(c)
			ctx.Dispatch(func(app.Context) {
				delete(p.inflight, "index")
				p.setIndex(idx, err)
			})
		})
	}
	if name := p.name; name != "" && p.manifest == nil {
		start("manifest:"+name, func() {
			c, cancel := context.WithTimeout(context.Background(), fetchTimeout)
			defer cancel()
			m, err := fetcher.Manifest(c, name)
			ctx.Dispatch(func(app.Context) {
				delete(p.inflight, "manifest:"+name)
				p.setManifest(name, m, err)
			})
		})
	}
}

func (p *DataPage) setIndex(idx *DatasetIndex, err error) {
	if err != nil {
		p.index, p.indexErr = nil, err.Error()
		return
	}
	p.index, p.indexErr = idx, ""
}

func (p *DataPage) setManifest(name string, m *data.Manifest, err error) {
	if name != p.name {
		return // an answer for a dataset no longer chosen
	}
	if err != nil {
		p.manifest, p.manifestErr = nil, err.Error()
		return
	}
	p.manifest, p.manifestErr = m, ""
}

func (p *DataPage) Render() app.UI {
	return layout("/data",
		app.H1().Text("Data"),
		app.P().Body(
			app.Text("Choose the pictures the model will learn from. The datasets below are served by this goresnet server ("),
			app.Code().Text("goresnet serve --data DIR"),
			app.Text("; "),
			app.Code().Text("make run"),
			app.Text(" serves the built-in digits), or the ones you imported in this browser from your own pictures (below: "+
				"they never leave this computer)."),
		),
		app.H2().Text("Datasets on this server"),
		p.renderIndex(),
		app.H2().Text("Your datasets, in this browser"),
		p.renderLocal(),
		app.If(p.name != "", p.renderManifest),
		p.renderImport(),
	)
}

func (p *DataPage) renderIndex() app.UI {
	switch {
	case p.indexErr != "":
		return app.P().ID("gr-datasets-error").Class("gr-error").Text("Could not read the list of datasets (" + p.indexErr +
			"). Offline, the list from your last visit is shown when there is one.")
	case p.index == nil:
		return app.P().ID("gr-datasets-loading").Text("Reading the list of datasets…")
	case len(p.index.Datasets) == 0:
		return app.P().ID("gr-datasets-empty").Body(
			app.Text("This server offers no datasets. Build the built-in digits with "),
			app.Code().Text("make data/digits"),
			app.Text(", or import your pictures with "),
			app.Code().Text("goresnet import"),
			app.Text(" into the folder given to "),
			app.Code().Text("goresnet serve --data"),
			app.Text("."),
		)
	}
	ds := p.index.Datasets
	return app.Table().ID("gr-datasets").Class("gr-table").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Text("Dataset"), app.Th().Text("Description"), app.Th().Class("gr-num").Text("Classes"),
			app.Th().Text("Image size"), app.Th().Text("Examples"), app.Th().Class("gr-num").Text("Size"),
		)),
		app.TBody().Body(app.Range(ds).Slice(func(i int) app.UI {
			d := ds[i]
			row := app.Tr().DataSet("name", d.Name)
			if d.Name == p.name {
				row = row.Class("gr-chosen")
			}
			return row.Body(
				app.Td().Body(app.A().Href("/data?name="+url.QueryEscape(d.Name)).Text(d.Name)),
				app.Td().Text(d.Description),
				app.Td().Class("gr-num").Text(d.Classes),
				app.Td().Text(imageText(d.Image)),
				app.Td().Text(splitsText(d.Splits)),
				app.Td().Class("gr-num").Text(bytesText(d.Bytes)),
			)
		})),
	)
}

func (p *DataPage) renderManifest() app.UI {
	m := p.manifest
	switch {
	case p.manifestErr != "":
		return app.Section().ID("gr-manifest").Body(
			app.H2().Text(p.name),
			app.P().Class("gr-error").Text("Could not read its manifest: "+p.manifestErr),
		)
	case m == nil:
		return app.Section().ID("gr-manifest").Body(
			app.H2().Text(p.name),
			app.P().Text("Reading its manifest…"),
		)
	}
	local := p.chosenLocal()
	sum, sumErr := p.summary, p.summaryErr
	if p.summaryFor != m.Name {
		sum, sumErr = nil, ""
	}
	var report *msg.ImportReport
	where := "server"
	if local != nil {
		where, report = "local", local.Report
		if local.Summary != nil {
			sum, sumErr = local.Summary, ""
		}
	}
	return app.Section().ID("gr-manifest").DataSet("name", m.Name).DataSet("where", where).Body(
		app.H2().Text(m.Name),
		app.If(m.Description != "", func() app.UI { return app.P().Text(m.Description) }),
		app.P().Body(
			app.A().ID("gr-train-this").Class("gr-button").Href("/train?dataset="+url.QueryEscape(m.Name)).Text("Train on this"),
			app.Text(" — the Train page fine-tunes a network on it in this browser's workers."),
		),
		app.P().Text(fmt.Sprintf("Images: %s, stored as %s %s.", imageText(m.Image), m.Image.DType, m.Image.Layout)),
		app.H3().Text(fmt.Sprintf("%d classes", len(m.Classes))),
		app.Ul().ID("gr-classes").Class("gr-chips").Body(app.Range(m.Classes).Slice(func(i int) app.UI {
			c := m.Classes[i]
			li := app.Li().Text(c.Name)
			if c.Folder != "" {
				li = li.Title(c.Folder)
			}
			return li
		})),
		app.H3().Text("Splits"),
		app.Table().ID("gr-splits").Class("gr-table").Body(
			app.THead().Body(app.Tr().Body(
				app.Th().Text("Split"), app.Th().Class("gr-num").Text("Examples"), app.Th().Class("gr-num").Text("Shards"), app.Th().Class("gr-num").Text("Size"),
			)),
			app.TBody().Body(app.Range(m.Splits).Slice(func(i int) app.UI {
				sp := m.Splits[i]
				var b int64
				for _, sh := range sp.Shards {
					b += sh.Bytes
				}
				return app.Tr().DataSet("split", sp.Name).Body(
					app.Td().Text(sp.Name),
					app.Td().Class("gr-num").Text(thousands(int64(sp.Count))),
					app.Td().Class("gr-num").Text(len(sp.Shards)),
					app.Td().Class("gr-num").Text(bytesText(b)),
				)
			})),
		),
		p.renderSummary(sum, sumErr),
		renderReport(report),
	)
}

func imageText(im data.Image) string {
	kind := "RGB"
	if im.Channels != 3 {
		kind = fmt.Sprintf("%d channels", im.Channels)
	}
	return fmt.Sprintf("%d×%d %s", im.Width, im.Height, kind)
}

func splitsText(s []SplitSummary) string {
	parts := make([]string, len(s))
	for i, sp := range s {
		parts[i] = sp.Name + " " + thousands(int64(sp.Count))
	}
	return strings.Join(parts, ", ")
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// bytesText writes a size in B, KB, MB or GB (powers of 1000).
func bytesText(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000_000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
