//go:build !(js && wasm)

package app

import (
	"errors"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Outside the browser (prerendering, native tests) there are no files
// and no camera.

var errNoBrowser = errors.New("the camera needs the browser app")

func droppedFile(e app.Event) (any, string)              { return nil, "" }
func objectURL(file any) string                          { return "" }
func revokeURL(u string)                                 {}
func startCamera(videoID string) error                   { return errNoBrowser }
func stopCamera(videoID string)                          {}
func captureFrame(videoID, canvasID string) (any, error) { return nil, errNoBrowser }
