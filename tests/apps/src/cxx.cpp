// cxx: C++ exceptions across frames and std::thread with a mutex.
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static int depth(int n) {
	if (n == 0) throw std::runtime_error("bottom reached");
	return depth(n - 1) + 1;
}

int main() {
	try {
		depth(10);
	} catch (const std::exception &e) {
		std::cout << "caught: " << e.what() << "\n";
	}
	std::mutex mu;
	long total = 0;
	std::vector<std::thread> ts;
	for (int t = 0; t < 4; t++)
		ts.emplace_back([&, t] {
			for (int i = 0; i < 10000; i++) {
				std::lock_guard<std::mutex> g(mu);
				total += t;
			}
		});
	for (auto &t : ts) t.join();
	std::cout << "total=" << total << "\n";
	try {
		std::vector<int> v(3);
		v.at(7) = 1;
	} catch (const std::out_of_range &) {
		std::cout << "out_of_range caught\n";
	}
	return 0;
}
