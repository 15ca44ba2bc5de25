//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// mainTrace records the renderer main thread's tasks with Chrome's
// tracing: each task's wall time and the CPU time the thread spent in it.
// A PerformanceObserver's long tasks are wall time only: on a loaded
// machine a short task that the OS preempted looks long. The trace tells
// the two apart.
type mainTrace struct {
	ctx    context.Context
	mu     sync.Mutex
	events []traceEvent
	done   chan struct{}
}

type traceEvent struct {
	Name string          `json:"name"`
	Ph   string          `json:"ph"`
	Ts   float64         `json:"ts"`   // µs
	Dur  float64         `json:"dur"`  // µs, wall
	Tdur float64         `json:"tdur"` // µs, thread CPU
	Pid  int             `json:"pid"`
	Tid  int             `json:"tid"`
	Args json.RawMessage `json:"args"`
}

// Task is one main-thread task: wall and CPU milliseconds.
type Task struct{ Wall, CPU float64 }

func (t Task) String() string { return fmt.Sprintf("%.0f ms (CPU %.0f ms)", t.Wall, t.CPU) }

func startMainTrace(ctx context.Context) (*mainTrace, error) {
	tr := &mainTrace{ctx: ctx, done: make(chan struct{})}
	go func() {
		for ev, err := range chromedp.Events(ctx, tracing.DataCollected) {
			if err != nil {
				return
			}
			tr.mu.Lock()
			for _, v := range ev.Value {
				var e traceEvent
				if json.Unmarshal(v, &e) == nil && (e.Ph == "X" || e.Ph == "M") {
					tr.events = append(tr.events, e)
				}
			}
			tr.mu.Unlock()
		}
	}()
	go func() {
		for _, err := range chromedp.Events(ctx, tracing.TracingComplete) {
			if err == nil {
				close(tr.done)
			}
			return
		}
	}()
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{TransferMode: "ReportEvents",
		TraceConfig: &tracing.TraceConfig{IncludedCategories: []string{"toplevel", "disabled-by-default-devtools.timeline", "__metadata"}, ExcludedCategories: []string{"*"}}})
	return tr, err
}

// stop ends tracing and returns the renderer main thread's tasks over
// minWall milliseconds, longest first.
func (tr *mainTrace) stop(minWall float64) ([]Task, error) {
	if _, err := chromedp.Call(tr.ctx, tracing.End, cdp.Empty{}); err != nil {
		return nil, err
	}
	select {
	case <-tr.done:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("tracing did not complete")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	main := map[[2]int]bool{}
	for _, e := range tr.events {
		if e.Ph == "M" && e.Name == "thread_name" {
			var a struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(e.Args, &a) == nil && a.Name == "CrRendererMain" {
				main[[2]int{e.Pid, e.Tid}] = true
			}
		}
	}
	var tasks []Task
	seen := map[[3]int]bool{}
	for _, e := range tr.events {
		if e.Ph != "X" || !main[[2]int{e.Pid, e.Tid}] || (e.Name != "RunTask" && e.Name != "ThreadControllerImpl::RunTask") {
			continue
		}
		if k := [3]int{e.Pid, e.Tid, int(e.Ts / 1000)}; seen[k] {
			continue // the same task under both categories
		} else {
			seen[k] = true
		}
		if w := e.Dur / 1000; w >= minWall {
			tasks = append(tasks, Task{Wall: w, CPU: e.Tdur / 1000})
		}
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].Wall > tasks[j].Wall })
	if len(main) == 0 {
		return nil, fmt.Errorf("no renderer main thread in the trace (%d events)", len(tr.events))
	}
	return tasks, nil
}
