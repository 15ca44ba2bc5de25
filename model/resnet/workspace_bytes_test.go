package resnet

import "testing"

// TestWorkspaceBytes: the planned size without allocating is the size of
// the workspace NewWorkspace allocates.
func TestWorkspaceBytes(t *testing.T) {
	for _, c := range []struct {
		cfg     Config
		n, size int
	}{
		{Config{Arch: "resnet18", Classes: 10, WidthDiv: 8}, 3, 32},
		{Config{Arch: "resnet50", Classes: 7, WidthDiv: 16, Head: HeadNotebook, InputSize: 64}, 2, 64},
	} {
		net, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := net.WorkspaceBytes(c.n, c.size, c.size)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := net.NewWorkspace(c.n, c.size, c.size)
		if err != nil {
			t.Fatal(err)
		}
		if want := ws.Bytes(); got != want || got == 0 {
			t.Errorf("%s: WorkspaceBytes %d, NewWorkspace's Bytes %d", c.cfg.Arch, got, want)
		}
	}
}
