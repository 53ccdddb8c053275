// Command gocgo is a Go program built with cgo (dynamically linked against
// glibc): it calls C for string formatting and math.
package main

/*
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
static double hyp(double a, double b) { return sqrt(a*a + b*b); }
static char *fmt(int n) { char *s = malloc(64); snprintf(s, 64, "formatted by C: %d", n); return s; }
#cgo LDFLAGS: -lm
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

func main() {
	s := C.fmt(42)
	fmt.Println(C.GoString(s))
	C.free(unsafe.Pointer(s))
	fmt.Println("hypot:", float64(C.hyp(3, 4)))
	var wg sync.WaitGroup
	results := make([]float64, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = float64(C.hyp(C.double(i), 1))
		}(i)
	}
	wg.Wait()
	fmt.Printf("%.3f\n", results)
}
