// Command psha hashes a fixed amount of data split over T goroutines and
// prints the elapsed milliseconds: the CPU-bound parallel workload of
// `make bench` (speed-up with -c 2 over -c 1).
//
// Usage: psha THREADS MIB_TOTAL
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	threads, _ := strconv.Atoi(os.Args[1])
	total, _ := strconv.Atoi(os.Args[2])
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 13)
	}
	per := total / threads
	start := time.Now()
	var wg sync.WaitGroup
	sums := make([][32]byte, threads)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			h := sha256.New()
			for i := 0; i < per; i++ {
				h.Write(buf)
			}
			copy(sums[t][:], h.Sum(nil))
		}(t)
	}
	wg.Wait()
	fmt.Printf("%.1f\n", float64(time.Since(start).Microseconds())/1000)
}
