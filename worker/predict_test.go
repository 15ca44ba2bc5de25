package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/goresnet/goresnet/model/data"
	"github.com/goresnet/goresnet/model/predict"
	"github.com/goresnet/goresnet/model/resnet"
	"github.com/goresnet/goresnet/model/train"
	"github.com/goresnet/goresnet/wasm/storage"
	"github.com/goresnet/goresnet/worker/msg"
)

// TestPredict: a stored checkpoint classifies a digit picture in the
// worker as model/predict does natively; the network is built once per
// checkpoint version; bad requests say what is wrong.
func TestPredict(t *testing.T) {
	e := setupEnv(t)
	net, err := resnet.New(resnet.Config{Arch: "resnet18", Classes: 10, WidthDiv: 16})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	ckb, err := train.MarshalCheckpoint(net, nil, train.Meta{Classes: names, Preprocess: train.Preprocess{Size: 32, Norm: "imagenet"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SaveCheckpoint(context.Background(), storage.Checkpoint{ID: "import/x/a.safetensors"}, ckb, nil, storage.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	// A test digit, as a PNG file.
	ds, err := data.OpenPath(context.Background(), e.dirs["digits"], nil)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := ds.Shard(context.Background(), "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, pix := sh.Record(3)
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	for i := range 32 * 32 {
		copy(img.Pix[4*i:], pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	var f bytes.Buffer
	png.Encode(&f, img)

	ck, _ := train.ParseCheckpoint(ckb, "a")
	native, err := predict.New(ck)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := native.ClassifyPixels(pix, 5)

	req := func(body msg.PredictRequest, file []byte) msg.Message {
		m := newRequest(t, msg.Predict, body)
		r, _ := reply(classifier.predict(m, &inbox{bufs: map[string][]byte{"image": file}}))
		return r
	}
	classifier = predictor{}
	r := req(msg.PredictRequest{Checkpoint: "import/x/a.safetensors", Version: "1"}, f.Bytes())
	if r.Type != "ok" {
		t.Fatalf("predict: %+v", r)
	}
	got := decode[msg.PredictResult](t, r)
	if got.Size != 32 || got.Classes != 10 || got.Cached || len(got.Top) != 5 {
		t.Errorf("result %+v", got)
	}
	for i := range want {
		if got.Top[i] != msg.ClassScore(want[i]) {
			t.Errorf("score %d: worker %+v, native %+v", i, got.Top[i], want[i])
		}
	}
	if again := decode[msg.PredictResult](t, req(msg.PredictRequest{Checkpoint: "import/x/a.safetensors", Version: "1", Top: 3}, f.Bytes())); !again.Cached || len(again.Top) != 3 {
		t.Errorf("second picture: %+v", again)
	}
	if other := decode[msg.PredictResult](t, req(msg.PredictRequest{Checkpoint: "import/x/a.safetensors", Version: "2"}, f.Bytes())); other.Cached {
		t.Error("a new version of the checkpoint was not read again")
	}
	for _, c := range []struct {
		body msg.PredictRequest
		file []byte
		want string
	}{
		{msg.PredictRequest{}, f.Bytes(), "no checkpoint"},
		{msg.PredictRequest{Checkpoint: "nope"}, f.Bytes(), "checkpoint nope"},
		{msg.PredictRequest{Checkpoint: "import/x/a.safetensors", Name: "empty.png"}, nil, "empty.png: no picture"},
		{msg.PredictRequest{Checkpoint: "import/x/a.safetensors", Name: "notes.txt"}, []byte("hello"), "notes.txt:"},
	} {
		r := req(c.body, c.file)
		if r.Type != msg.Error || !strings.Contains(r.Message, c.want) {
			t.Errorf("%+v: %s %q, want an error with %q", c.body, r.Type, r.Message, c.want)
		}
	}
}
