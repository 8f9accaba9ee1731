// Package badge draws shields.io-style flat SVG badges, with text widths
// measured from the real 11px Verdana character-width table shields.io
// uses (see VERDANA-LICENSE), so a badge is as wide as its text whatever
// the text, and writes shields.io endpoint JSON for the same badge.
package badge

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed verdana-11px-normal.json
var verdanaJSON []byte

// widthRange is one row of the table: code points lo..hi are w px wide.
type widthRange struct {
	lo, hi rune
	w      float64
}

var (
	tableOnce sync.Once
	table     []widthRange
	emWidth   float64
)

func loadTable() {
	var rows [][3]float64
	if err := json.Unmarshal(verdanaJSON, &rows); err != nil {
		panic("badge: embedded Verdana width table: " + err.Error())
	}
	table = make([]widthRange, len(rows))
	for i, r := range rows {
		table[i] = widthRange{rune(r[0]), rune(r[1]), r[2]}
	}
	emWidth, _ = charWidth('m')
}

func charWidth(r rune) (float64, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].hi >= r })
	if i < len(table) && table[i].lo <= r {
		return table[i].w, true
	}
	return 0, false
}

// TextWidth is the width in pixels of s set in 11px Verdana. Control
// characters are zero-width; a character the table lacks counts as wide
// as "m", as shields.io guesses.
func TextWidth(s string) float64 {
	tableOnce.Do(loadTable)
	w := 0.0
	for _, r := range s {
		if r <= 31 || r == 127 {
			continue
		}
		if cw, ok := charWidth(r); ok {
			w += cw
		} else {
			w += emWidth
		}
	}
	return w
}

// Colours, by the names shields.io endpoint JSON accepts.
var colours = map[string]string{
	"brightgreen": "#4c1",
	"green":       "#97ca00",
	"yellow":      "#dfb317",
	"orange":      "#fe7d37",
	"red":         "#e05d44",
	"blue":        "#007ec6",
	"lightgrey":   "#9f9f9f",
	"grey":        "#555",
}

// Badge is a two-part badge: a grey label and a coloured message.
type Badge struct {
	Label   string
	Message string
	// Color is a shields.io colour name (see colours); unknown is grey.
	Color string
}

// MaxMessage is the most characters a message keeps; longer ones end in
// an ellipsis (MicroBadger cut versions at 10; names need more).
const MaxMessage = 48

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= MaxMessage {
		return s
	}
	return string([]rune(s)[:MaxMessage-1]) + "…"
}

// padding is the space left and right of each part's text.
const padding = 5

// SVG renders the badge. Text is XML-escaped: badge messages come from
// image labels and names, which are hostile input.
func (b Badge) SVG() []byte {
	label, msg := clip(b.Label), clip(b.Message)
	lt, mt := TextWidth(label), TextWidth(msg)
	lw := int(math.Ceil(lt)) + 2*padding
	mw := int(math.Ceil(mt)) + 2*padding
	if label == "" {
		lw = 0
	}
	w := lw + mw
	fill, ok := colours[b.Color]
	if !ok {
		fill = colours["lightgrey"]
	}
	title := html.EscapeString(strings.TrimPrefix(label+": "+msg, ": "))
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s">`, w, title)
	fmt.Fprintf(&s, `<title>%s</title>`, title)
	s.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&s, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, w)
	fmt.Fprintf(&s, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`, lw, lw, mw, fill, w)
	s.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">`)
	// Text is drawn at ten times the size and scaled down, so positions
	// keep a tenth of a pixel; textLength pins the measured width.
	text := func(x float64, width float64, t string) {
		e := html.EscapeString(t)
		fmt.Fprintf(&s, `<text aria-hidden="true" x="%.0f" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="%.0f">%s</text>`, x*10, width*10, e)
		fmt.Fprintf(&s, `<text x="%.0f" y="140" transform="scale(.1)" fill="#fff" textLength="%.0f">%s</text>`, x*10, width*10, e)
	}
	if label != "" {
		text(float64(lw)/2, lt, label)
	}
	text(float64(lw)+float64(mw)/2, mt, msg)
	s.WriteString(`</g></svg>`)
	return []byte(s.String())
}

// Endpoint is the shields.io endpoint JSON for the badge
// (https://shields.io/badges/endpoint-badge): schemaVersion 1.
type Endpoint struct {
	SchemaVersion int    `json:"schemaVersion"`
	Label         string `json:"label"`
	Message       string `json:"message"`
	Color         string `json:"color"`
}

// Endpoint returns the badge as shields.io endpoint JSON.
func (b Badge) Endpoint() Endpoint {
	c := b.Color
	if _, ok := colours[c]; !ok {
		c = "lightgrey"
	}
	return Endpoint{SchemaVersion: 1, Label: clip(b.Label), Message: clip(b.Message), Color: c}
}
