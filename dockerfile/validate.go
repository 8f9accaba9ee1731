package dockerfile

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Parse reads Dockerfile text with BuildKit's own parser and instruction
// decoder, the same code `docker build` runs first. Every Dockerfile strata
// prints must pass it.
func Parse(text string) ([]instructions.Stage, []instructions.ArgCommand, error) {
	res, err := parser.Parse(strings.NewReader(text))
	if err != nil {
		return nil, nil, fmt.Errorf("parse dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("decode dockerfile instructions: %w", err)
	}
	if len(stages) == 0 {
		return nil, nil, fmt.Errorf("decode dockerfile instructions: no FROM")
	}
	return stages, metaArgs, nil
}

// Validate reports whether text parses (see Parse).
func Validate(text string) error {
	_, _, err := Parse(text)
	return err
}
