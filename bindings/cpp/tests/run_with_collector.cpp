// Runs a program against a fresh test collector, for ctest:
//
//   run_with_collector COLLECTOR N PROGRAM [ARGS...]
//
// Starts `COLLECTOR 127.0.0.1:0 --exit-after N`, replaces every argument
// "{url}" with its URL, runs PROGRAM, then expects the collector to exit by
// itself within 15 s (N events and hits arrived). Prints what the collector
// received. Exit status: PROGRAM's when it failed, 1 when the collector did
// not receive N, else 0.
#include "collector_process.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::cerr << "usage: run_with_collector COLLECTOR N PROGRAM [ARGS...]\n";
        return 2;
    }
    const int expected = std::atoi(argv[2]);
    try {
        CollectorProcess collector(argv[1], expected);

        std::vector<std::string> args;
        for (int i = 3; i < argc; i++)
            args.push_back(std::string(argv[i]) == "{url}" ? collector.url() : argv[i]);
        std::vector<char *> child_argv;
        for (std::string &a : args)
            child_argv.push_back(a.data());
        child_argv.push_back(nullptr);

        std::cout.flush();
        pid_t pid = -1;
        const int rc = posix_spawn(&pid, child_argv[0], nullptr, nullptr, child_argv.data(), environ);
        if (rc != 0) {
            std::cerr << "run_with_collector: cannot start " << args[0] << ": " << std::strerror(rc) << '\n';
            return 1;
        }
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        const bool program_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        const bool collector_ok = collector.wait_exit(std::chrono::seconds(15));
        collector.stop();

        std::cout << "\n== what the collector received ==\n" << collector.output() << std::flush;
        if (!program_ok) {
            std::cerr << "run_with_collector: " << args[0] << " failed (wait status " << status << ")\n";
            return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
        if (!collector_ok) {
            std::cerr << "run_with_collector: the collector did not receive " << expected
                      << " events and hits within 15 s\n";
            return 1;
        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "run_with_collector: " << e.what() << '\n';
        return 1;
    }
}
