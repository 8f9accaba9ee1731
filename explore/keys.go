package explore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Actions a key can be bound to. The names are the keys of the config
// file (README, "explore").
const (
	actQuit        = "quit"
	actSwitchPane  = "switch-pane"
	actFilter      = "filter"
	actCollapse    = "collapse-dir"
	actCollapseAll = "collapse-all"
	actAdded       = "toggle-added"
	actRemoved     = "toggle-removed"
	actModified    = "toggle-modified"
	actUnmodified  = "toggle-unmodified"
	actAttributes  = "toggle-attributes"
	actPageUp      = "page-up"
	actPageDown    = "page-down"
	actUp          = "up"
	actDown        = "down"
	actLeft        = "left"
	actRight       = "right"
	actTop         = "top"
	actBottom      = "bottom"
	actView        = "view"
	actExtract     = "extract"
	actSort        = "sort-size"
	actHideBase    = "hide-base"
	actWaste       = "waste"
	actHelp        = "help"
	actSearchNext  = "search-next"
	actToggleHex   = "toggle-hex"
	actBack        = "back"
	actCompareAll  = "compare-all"
	actCompareLay  = "compare-layer"
)

// binding is one action, its default keys (dive's where dive has the
// action) and what the help overlay says of it.
type binding struct {
	action string
	keys   []string
	help   string
}

// layersPane are the actions whose keys act only while the layers pane has
// the focus, where they take precedence: dive binds Ctrl+A there to
// "compare all" and in the file tree to "show added files".
var layersPane = map[string]bool{actCompareAll: true, actCompareLay: true}

// defaultBindings are dive's defaults plus strata's own keys. Ctrl+M is
// the byte a terminal sends for Enter, so Enter does the same (as in dive).
var defaultBindings = []binding{
	{actSwitchPane, []string{"tab"}, "switch pane (layers ↔ files)"},
	{actFilter, []string{"ctrl+f", "/"}, "filter paths (substring, or a regular expression)"},
	{actCollapse, []string{"space"}, "collapse / expand the directory"},
	{actCollapseAll, []string{"ctrl+space", "ctrl+@"}, "collapse / expand all directories"},
	{actAdded, []string{"ctrl+a"}, "show / hide added files (A)"},
	{actRemoved, []string{"ctrl+r"}, "show / hide removed files (R)"},
	{actModified, []string{"ctrl+m", "enter"}, "show / hide modified files (M)"},
	{actUnmodified, []string{"ctrl+u"}, "show / hide unmodified files"},
	{actAttributes, []string{"ctrl+b"}, "show / hide file attributes"},
	{actCompareAll, []string{"ctrl+a"}, "layers pane: mark all changes since the first layer (the base's last with b)"},
	{actCompareLay, []string{"ctrl+l"}, "layers pane: mark the selected layer's own changes"},
	{actPageUp, []string{"pgup"}, "page up"},
	{actPageDown, []string{"pgdown"}, "page down"},
	{actUp, []string{"up", "k"}, "up"},
	{actDown, []string{"down", "j"}, "down"},
	{actLeft, []string{"left", "h"}, "collapse, or go to the parent directory"},
	{actRight, []string{"right", "l"}, "expand the directory"},
	{actTop, []string{"home", "g"}, "first row"},
	{actBottom, []string{"end", "G"}, "last row"},
	{actView, []string{"v"}, "view the file (text or hex; / searches)"},
	{actExtract, []string{"x"}, "extract the file or directory (safely, as strata extract)"},
	{actSort, []string{"s", "ctrl+o"}, "sort by name / by size"},
	{actHideBase, []string{"b"}, "hide / show the base image's layers"},
	{actWaste, []string{"w"}, "waste overlay (Enter jumps to the step that caused it)"},
	{actHelp, []string{"?"}, "this help"},
	{actSearchNext, []string{"n"}, "viewer: next match"},
	{actToggleHex, []string{"X"}, "viewer: text / hex"},
	{actBack, []string{"esc"}, "close the overlay or prompt"},
	{actQuit, []string{"q", "ctrl+c"}, "quit (q closes an overlay first)"},
}

// keymap maps a key (as Bubble Tea names it: "ctrl+f", "space", "pgdown")
// to its action.
type keymap struct {
	byKey map[string]string
	// inLayers holds the keys of the layers pane's own bindings.
	inLayers map[string]string
	bindings []binding
}

func defaultKeymap() *keymap {
	km, _ := buildKeymap(nil)
	return km
}

// buildKeymap applies overrides (action → keys) to the defaults. A key
// bound to two actions is an error, as is an unknown action.
func buildKeymap(over map[string][]string) (*keymap, error) {
	km := &keymap{byKey: map[string]string{}, inLayers: map[string]string{}}
	known := map[string]bool{}
	for _, b := range defaultBindings {
		known[b.action] = true
	}
	actions := make([]string, 0, len(over))
	for a := range over {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	for _, a := range actions {
		if !known[a] {
			return nil, fmt.Errorf("unknown action %q (known: %s)", a, strings.Join(sortedKeys(known), ", "))
		}
		if len(over[a]) == 0 {
			return nil, fmt.Errorf("action %q: no key given", a)
		}
	}
	for _, b := range defaultBindings {
		if keys, ok := over[b.action]; ok {
			b.keys = keys
		}
		scope := km.byKey
		if layersPane[b.action] {
			scope = km.inLayers
		}
		for _, k := range b.keys {
			if prev, dup := scope[k]; dup {
				return nil, fmt.Errorf("key %q is bound to both %s and %s", k, prev, b.action)
			}
			scope[k] = b.action
		}
		km.bindings = append(km.bindings, b)
	}
	return km, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// action names what a key does ("" for nothing).
func (km *keymap) action(key string) string { return km.byKey[key] }

// actionIn names what a key does with the focus on pane p.
func (km *keymap) actionIn(key string, p pane) string {
	if a, ok := km.inLayers[key]; ok && p == paneLayers {
		return a
	}
	return km.byKey[key]
}

// keysOf is the first key bound to an action, for the status line.
func (km *keymap) keysOf(action string) string {
	for _, b := range km.bindings {
		if b.action == action && len(b.keys) > 0 {
			return b.keys[0]
		}
	}
	return "?"
}

// DefaultKeysFile is where key bindings are read from unless --keys names
// a file: $XDG_CONFIG_HOME/strata/explore.yaml, else
// ~/.config/strata/explore.yaml.
func DefaultKeysFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "strata", "explore.yaml")
}

// keysFile is the config file's shape:
//
//	keys:
//	  quit: [q, ctrl+c]
//	  filter: ctrl+f
type keysFile struct {
	Keys map[string]keyList `yaml:"keys"`
}

// keyList takes one key or a list.
type keyList []string

func (k *keyList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*k = keyList{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*k = l
	return nil
}

// LoadKeys reads a key file; a missing default file is no error (named
// says whether the user named the file).
func LoadKeys(file string, named bool) (*keymap, error) {
	if file == "" {
		return defaultKeymap(), nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && !named {
		return defaultKeymap(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var kf keysFile
	if err := yaml.Unmarshal(b, &kf); err != nil {
		return nil, fmt.Errorf("key file %s: %w", file, err)
	}
	over := map[string][]string{}
	for a, ks := range kf.Keys {
		over[a] = ks
	}
	km, err := buildKeymap(over)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", file, err)
	}
	return km, nil
}
