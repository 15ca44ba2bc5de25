package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/goresnet/goresnet/internal/atomicfile"
	"github.com/goresnet/goresnet/model/train"
)

// confusionGrid shows a confusion matrix as a heat map, row-normalised (so
// every true class reads as fractions of its examples), true classes top
// to bottom.
type confusionGrid struct{ v [][]float64 }

func (g confusionGrid) Dims() (c, r int)   { return len(g.v), len(g.v) }
func (g confusionGrid) Z(c, r int) float64 { return g.v[len(g.v)-1-r][c] }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

func writeConfusionPNG(path string, names []string, conf [][]int) error {
	n := len(conf)
	v := make([][]float64, n)
	for i, row := range conf {
		v[i] = make([]float64, n)
		total := 0
		for _, c := range row {
			total += c
		}
		for j, c := range row {
			if total > 0 {
				v[i][j] = float64(c) / float64(total)
			}
		}
	}
	p := plot.New()
	p.Title.Text = "Confusion matrix (rows: true class, fraction of its examples)"
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	pal := moreland.ExtendedBlackBody()
	pal.SetMin(0)
	pal.SetMax(1)
	hm := plotter.NewHeatMap(confusionGrid{v}, pal.Palette(256))
	hm.Min, hm.Max = 0, 1
	p.Add(hm)
	if n <= 40 {
		var xt, yt []plot.Tick
		for i, name := range names {
			label := truncate(name, 14)
			xt = append(xt, plot.Tick{Value: float64(i), Label: label})
			yt = append(yt, plot.Tick{Value: float64(n - 1 - i), Label: label})
		}
		p.X.Tick.Marker = plot.ConstantTicks(xt)
		p.Y.Tick.Marker = plot.ConstantTicks(yt)
		p.X.Tick.Label.Rotation = 0.8
		p.X.Tick.Label.XAlign = draw.XRight
	}
	side := vg.Length(6+0.25*float64(min(n, 120))) * vg.Inch
	return savePlot(p, path, side, side)
}

// savePlot writes a plot as PNG or SVG (by extension), atomically.
func savePlot(p *plot.Plot, path string, w, h vg.Length) error {
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	case ".svg":
		c = vgsvg.New(w, h)
	default:
		return fmt.Errorf("%s: the plot is written as .png or .svg", path)
	}
	p.Draw(draw.New(c))
	return atomicfile.Write(path, 0o644, func(wr io.Writer) error {
		_, err := c.WriteTo(wr)
		return err
	})
}

// historyPlots draws loss and accuracy curves, train and validation, side
// by side, like the notebook's matplotlib figures.
func historyPlots(h *train.History, path string) error {
	mk := func(title, ylabel string, train, val func(e train.EpochStats) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = ylabel
		p.Add(plotter.NewGrid())
		var tr, va plotter.XYs
		for _, e := range h.Epochs {
			tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: train(e)})
			if e.HasVal {
				va = append(va, plotter.XY{X: float64(e.Epoch), Y: val(e)})
			}
		}
		l, pts, err := plotter.NewLinePoints(tr)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = plotter.DefaultLineStyle.Color, plotter.DefaultLineStyle.Color
		p.Add(l, pts)
		p.Legend.Add("train", l, pts)
		if len(va) > 0 {
			l2, pts2, err := plotter.NewLinePoints(va)
			if err != nil {
				return nil, err
			}
			l2.Color, pts2.Color = colorOrange, colorOrange
			l2.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(l2, pts2)
			p.Legend.Add("validation", l2, pts2)
		}
		p.Legend.Top = ylabel == "loss"
		return p, nil
	}
	if len(h.Epochs) == 0 {
		return fmt.Errorf("the history has no epochs")
	}
	lp, err := mk("Loss", "loss", func(e train.EpochStats) float64 { return e.Loss }, func(e train.EpochStats) float64 { return e.ValLoss })
	if err != nil {
		return err
	}
	ap, err := mk("Accuracy", "accuracy", func(e train.EpochStats) float64 { return e.Accuracy }, func(e train.EpochStats) float64 { return e.ValAccuracy })
	if err != nil {
		return err
	}
	w, hh := 11*vg.Inch, 4.5*vg.Inch
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, hh)}
	case ".svg":
		c = vgsvg.New(w, hh)
	default:
		return fmt.Errorf("%s: curves are written as .png or .svg", path)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{lp, ap}}, tiles, dc)
	lp.Draw(canvases[0][0])
	ap.Draw(canvases[0][1])
	return atomicfile.Write(path, 0o644, func(wr io.Writer) error {
		_, err := c.WriteTo(wr)
		return err
	})
}
