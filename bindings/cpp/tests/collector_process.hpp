// The project's test collector (`cargo run --example collector`) as a child
// process: started on a free loopback port, its URL read from its first line,
// its output kept, and stopped in bounded time. Used by test_wrapper.cpp and
// run_with_collector.cpp (POSIX only).
#ifndef ATTRACKER_CPP_TESTS_COLLECTOR_PROCESS_HPP
#define ATTRACKER_CPP_TESTS_COLLECTOR_PROCESS_HPP

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

class CollectorProcess {
public:
    // Runs `binary 127.0.0.1:0 [--exit-after N] [extra_args...]` (N > 0) and
    // waits up to 30 s for "collector listening on URL". Throws
    // std::runtime_error on failure.
    CollectorProcess(const std::string &binary, int exit_after, const std::vector<std::string> &extra_args = {})
    {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
            throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);

        std::vector<std::string> args = {binary, "127.0.0.1:0"};
        if (exit_after > 0) {
            args.push_back("--exit-after");
            args.push_back(std::to_string(exit_after));
        }
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        std::vector<char *> argv;
        for (std::string &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);

        const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        if (rc != 0) {
            close(fds[0]);
            throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
        }
        fd_ = fds[0];
        reader_ = std::thread([this] { read_output(); });

        const std::string prefix = "collector listening on ";
        std::unique_lock<std::mutex> lock(mu_);
        const bool found = cv_.wait_for(lock, std::chrono::seconds(30), [&] {
            return eof_ || output_.find('\n') != std::string::npos;
        });
        const std::string first = output_.substr(0, output_.find('\n'));
        lock.unlock();
        if (!found || first.compare(0, prefix.size(), prefix) != 0) {
            stop();
            throw std::runtime_error("the collector did not start; it printed: " + output());
        }
        url_ = first.substr(prefix.size());
        url_ = url_.substr(0, url_.find_first_of(" \r\t"));
    }

    ~CollectorProcess() { stop(); }
    CollectorProcess(const CollectorProcess &) = delete;
    CollectorProcess &operator=(const CollectorProcess &) = delete;

    // The base URL ("http://127.0.0.1:PORT").
    const std::string &url() const { return url_; }

    // Everything it printed so far.
    std::string output() const
    {
        std::lock_guard<std::mutex> lock(mu_);
        return output_;
    }

    // Waits up to `timeout` for it to exit by itself (--exit-after reached).
    // True when it exited with status 0.
    bool wait_exit(std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!reaped_) {
            if (reap(WNOHANG))
                break;
            if (std::chrono::steady_clock::now() >= deadline)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0;
    }

    // SIGTERM, SIGKILL after 2 s; reaps it and collects the rest of its output.
    void stop()
    {
        if (pid_ > 0 && !reaped_) {
            kill(pid_, SIGTERM);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            while (!reap(WNOHANG) && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            if (!reaped_) {
                kill(pid_, SIGKILL);
                reap(0);
            }
        }
        if (reader_.joinable())
            reader_.join(); // EOF once the child is gone
        if (fd_ >= 0) {
            close(fd_);
            fd_ = -1;
        }
    }

private:
    bool reap(int flags)
    {
        int status = 0;
        pid_t r;
        do {
            r = waitpid(pid_, &status, flags);
        } while (r < 0 && errno == EINTR);
        if (r == pid_ || (r < 0 && errno == ECHILD)) {
            reaped_ = true;
            wait_status_ = r == pid_ ? status : 0;
        }
        return reaped_;
    }

    void read_output()
    {
        char buf[4096];
        for (;;) {
            const ssize_t n = read(fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            std::lock_guard<std::mutex> lock(mu_);
            if (n <= 0) {
                eof_ = true;
                cv_.notify_all();
                return;
            }
            output_.append(buf, static_cast<std::size_t>(n));
            cv_.notify_all();
        }
    }

    pid_t pid_ = -1;
    int fd_ = -1;
    bool reaped_ = false;
    int wait_status_ = 0;
    std::string url_;
    std::thread reader_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::string output_;
    bool eof_ = false;
};

#endif
