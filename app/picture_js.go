//go:build js && wasm

package app

import (
	"errors"
	"fmt"
	"syscall/js"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The browser's side of the Predict page: files dropped on the page,
// object URLs for previews, and the camera (getUserMedia, a frame drawn
// into a canvas and taken as a PNG Blob). Nothing here decodes or
// resizes: the worker does, as the importer does.

// jsOf returns the js.Value behind a go-app Value (go-app keeps it
// unexported): pushed into a JavaScript array and read back.
func jsOf(v app.Value) js.Value {
	holder := js.Global().Get("Array").New()
	app.ValueOf(holder).Call("push", v)
	return holder.Index(0)
}

// droppedFile is the first file of a drop event, and its name.
func droppedFile(e app.Event) (any, string) {
	dt := jsOf(e.Value).Get("dataTransfer")
	if !dt.Truthy() || !dt.Get("files").Truthy() || dt.Get("files").Length() == 0 {
		return nil, ""
	}
	f := dt.Get("files").Index(0)
	return f, f.Get("name").String()
}

// objectURL makes a URL for showing a File or Blob in an img.
func objectURL(file any) string {
	v, ok := file.(js.Value)
	if !ok || !v.Truthy() {
		return ""
	}
	return js.Global().Get("URL").Call("createObjectURL", v).String()
}

func revokeURL(u string) {
	if u != "" {
		js.Global().Get("URL").Call("revokeObjectURL", u)
	}
}

// await waits for a promise.
func await(p js.Value) (js.Value, error) {
	done := make(chan js.Value, 1)
	fail := make(chan error, 1)
	ok := js.FuncOf(func(this js.Value, args []js.Value) any {
		var v js.Value
		if len(args) > 0 {
			v = args[0]
		}
		done <- v
		return nil
	})
	bad := js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "failed"
		if len(args) > 0 {
			if m := args[0].Get("message"); m.Truthy() {
				msg = args[0].Get("name").String() + ": " + m.String()
			} else {
				msg = args[0].Call("toString").String()
			}
		}
		fail <- errors.New(msg)
		return nil
	})
	defer ok.Release()
	defer bad.Release()
	p.Call("then", ok, bad)
	select {
	case v := <-done:
		return v, nil
	case err := <-fail:
		return js.Undefined(), err
	}
}

// startCamera asks for the camera and shows it in the video element.
func startCamera(videoID string) error {
	md := js.Global().Get("navigator").Get("mediaDevices")
	if !md.Truthy() || !md.Get("getUserMedia").Truthy() {
		return errors.New("this browser offers no camera here (getUserMedia needs a secure page: localhost or HTTPS)")
	}
	opts := js.ValueOf(map[string]any{"video": map[string]any{"facingMode": "environment"}, "audio": false})
	stream, err := await(md.Call("getUserMedia", opts))
	if err != nil {
		return fmt.Errorf("the camera: %v", err)
	}
	video := js.Global().Get("document").Call("getElementById", videoID)
	if !video.Truthy() {
		stopStream(stream)
		return errors.New("the page has no video element")
	}
	video.Set("srcObject", stream)
	video.Set("muted", true)
	video.Set("playsInline", true)
	if _, err := await(video.Call("play")); err != nil {
		stopStream(stream)
		return fmt.Errorf("the camera's video: %v", err)
	}
	return nil
}

func stopStream(stream js.Value) {
	if !stream.Truthy() {
		return
	}
	tracks := stream.Call("getTracks")
	for i := 0; i < tracks.Length(); i++ {
		tracks.Index(i).Call("stop")
	}
}

// stopCamera ends the camera's stream.
func stopCamera(videoID string) {
	video := js.Global().Get("document").Call("getElementById", videoID)
	if video.Truthy() {
		stopStream(video.Get("srcObject"))
		video.Set("srcObject", js.Null())
	}
}

// captureFrame draws the video's current frame into the canvas, at the
// camera's resolution, and returns it as a PNG Blob (lossless: the
// worker resizes it as the importer would a photo).
func captureFrame(videoID, canvasID string) (any, error) {
	doc := js.Global().Get("document")
	video, canvas := doc.Call("getElementById", videoID), doc.Call("getElementById", canvasID)
	if !video.Truthy() || !canvas.Truthy() {
		return nil, errors.New("the camera is not on")
	}
	w, h := video.Get("videoWidth").Int(), video.Get("videoHeight").Int()
	if w == 0 || h == 0 {
		return nil, errors.New("the camera has sent no picture yet")
	}
	canvas.Set("width", w)
	canvas.Set("height", h)
	canvas.Call("getContext", "2d").Call("drawImage", video, 0, 0, w, h)
	done := make(chan js.Value, 1)
	cb := js.FuncOf(func(this js.Value, a []js.Value) any {
		done <- a[0]
		return nil
	})
	defer cb.Release()
	canvas.Call("toBlob", cb, "image/png")
	blob := <-done
	if !blob.Truthy() {
		return nil, errors.New("the frame could not be taken from the canvas")
	}
	return blob, nil
}
