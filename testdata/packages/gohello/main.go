// Command gohello is a Go binary with one dependency, for the package tests.
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println("hello", uuid.NewString()) }
