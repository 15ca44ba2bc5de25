package main

import (
	"fmt"

	"github.com/goresnet/goresnet/worker/msg"
)

// DebugExit ends the worker's Go program the way running out of memory
// does (a fatal error, not a recoverable panic): the page's recovery (the
// group aborts, the worker's message is shown, the worker is restarted,
// the last checkpoint stays) is tested with it in e2e's TestBrowserTrain,
// posted through the app's goresnetDebug.post (wasm/app). Body:
// {"message": "..."}; answered at once, then the program dies.
//
// It is in the production build on purpose: the browser tests test the
// build people run, not a debug variant, and it grants nothing new. A
// dedicated worker receives messages only from the page that started it,
// whose scripts can terminate the worker (or close the tab) anyway; the
// worst it does is what running out of memory does, which the app
// survives.
const DebugExit = "debug-exit"

func init() {
	HandleNow(DebugExit, func(m msg.Message, in Inbox) (msg.Message, []msg.Buffer) {
		var body struct {
			Message string `json:"message"`
		}
		m.DecodeBody(&body)
		// A panic on another goroutine is not recovered by handle: it
		// ends the program, after this answer has been posted or not
		// (the page must not rely on the answer).
		go func() { panic(fmt.Sprintf("debug-exit: %s", body.Message)) }()
		return msg.Message{Type: "ok"}, nil
	})
}
