package badge

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

// TestTextWidth checks that a text's width is the sum of its characters'
// rows in the 11px Verdana table (single rows, a range row for the
// digits), that control characters are zero-wide and that a character
// outside the table counts as an "m".
func TestTextWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want float64
	}{
		{"", 0},
		{"l", 3.02},
		{"W", 10.88},
		{"0123456789", 69.9},
		{"layers", 3.02 + 6.61 + 6.51 + 6.55 + 4.69 + 5.73},
		{"a\x00\tb", 6.61 + 6.85},
		{"\U0010FFFD", TextWidth("m")},
	} {
		if got := TextWidth(tc.s); math.Abs(got-tc.want) > 0.001 {
			t.Errorf("TextWidth(%q) = %.2f, want %.2f", tc.s, got, tc.want)
		}
	}
	if TextWidth("iiii") >= TextWidth("MMMM") {
		t.Errorf("narrow letters measure as wide as wide ones")
	}
}

func TestSVG(t *testing.T) {
	b := Badge{Label: "license", Message: `<script>alert(1)</script>&"`, Color: "blue"}
	svg := string(b.SVG())
	if strings.Contains(svg, "<script>") {
		t.Fatalf("message not escaped: %s", svg)
	}
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		Width   int      `xml:"width,attr"`
		Texts   []string `xml:"g>text"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, svg)
	}
	want := int(math.Ceil(TextWidth("license"))) + 10 + int(math.Ceil(TextWidth(`<script>alert(1)</script>&"`))) + 10
	if doc.Width != want {
		t.Errorf("width %d, want %d", doc.Width, want)
	}
	if len(doc.Texts) != 4 || doc.Texts[3] != `<script>alert(1)</script>&"` {
		t.Errorf("texts %q", doc.Texts)
	}
	long := Badge{Label: "version", Message: strings.Repeat("x", 100)}.Endpoint()
	if n := len([]rune(long.Message)); n != MaxMessage || !strings.HasSuffix(long.Message, "…") || long.Color != "lightgrey" || long.SchemaVersion != 1 {
		t.Errorf("endpoint %+v", long)
	}
}
