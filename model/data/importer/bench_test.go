package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/goresnet/goresnet/model/data/importer"
)

// realisticJPEG encodes a w x h photo-like image at quality 90: smooth
// colour gradients and soft blobs, plus sensor-like noise, which gives
// file sizes and decode costs in the range of real 500x375 photos.
func realisticJPEG(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	rgb := image.NewRGBA(image.Rect(0, 0, w, h))
	_ = m
	type blob struct{ x, y, rad, r, g, b float64 }
	var blobs []blob
	for range 6 {
		blobs = append(blobs, blob{r.Float64() * float64(w), r.Float64() * float64(h), 30 + r.Float64()*120, r.Float64() * 255, r.Float64() * 255, r.Float64() * 255})
	}
	base := [3]float64{r.Float64() * 200, r.Float64() * 200, r.Float64() * 200}
	for y := range h {
		for x := range w {
			c := [3]float64{base[0] + 50*float64(x)/float64(w), base[1] + 50*float64(y)/float64(h), base[2] + 30*math.Sin(float64(x+y)/40)}
			for _, b := range blobs {
				d := math.Hypot(float64(x)-b.x, float64(y)-b.y) / b.rad
				a := math.Exp(-d * d)
				c[0], c[1], c[2] = c[0]*(1-a)+b.r*a, c[1]*(1-a)+b.g*a, c[2]*(1-a)+b.b*a
			}
			i := rgb.PixOffset(x, y)
			for k := range 3 {
				rgb.Pix[i+k] = uint8(min(max(c[k]+r.NormFloat64()*4, 0), 255))
			}
			rgb.Pix[i+3] = 255
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, rgb, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

// BenchmarkImport measures a whole import (read, decode, EXIF, RGB,
// Lanczos-3 resize with pad, shard writing with sha256, to a folder) of
// 32 JPEGs of 500x375 per op on one worker, and reports images/s per core.
func BenchmarkImport(b *testing.B) {
	const n = 64
	fsys := fstest.MapFS{}
	var bytes int
	for i := range n {
		j := realisticJPEG(500, 375, uint64(i))
		bytes += len(j)
		fsys[fmt.Sprintf("class%d/%03d.jpg", i%4, i)] = &fstest.MapFile{Data: j}
	}
	for _, size := range []int{224} {
		b.Run(fmt.Sprintf("jpeg500x375/%d", size), func(b *testing.B) {
			dir := b.TempDir()
			k := 0
			for b.Loop() {
				k++
				opts := importer.Options{Format: "imagefolder", From: fsys, Size: size, Name: "bench", Workers: 1, TestFraction: 0}
				if _, _, err := importer.ImportDir(context.Background(), opts, "", filepath.Join(dir, fmt.Sprint(k)), false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
			b.ReportMetric(float64(bytes)/n/1024, "KB/jpeg")
		})
	}
}
