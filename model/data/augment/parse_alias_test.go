package augment

import "testing"

func TestParseIssueSpelling(t *testing.T) {
	c, err := Parse("flip,rotate=0.2,contrast=0.2,crop")
	if err != nil {
		t.Fatal(err)
	}
	if c.Flip != FlipHorizontalAndVertical || c.Rotation != 0.2 || c.Contrast != 0.2 || c.Crop == nil {
		t.Fatalf("parsed %+v", c)
	}
}
