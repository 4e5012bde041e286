#pragma once
// Progress of a run as text (minimize shows it): one line per shown iteration with the loss, the
// gradient's norm, the elapsed time, the rate and the time left; on a terminal a single line that
// rewrites itself, cut to the terminal's width.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>

#include <unistd.h>

#include "optimizer.hpp"

namespace gateaux {

namespace detail {
// The terminal's width in columns, or 0 if unknown. Linux's TIOCGWINSZ request and struct
// winsize, declared here: <sys/ioctl.h> defines macros (NCC, ...) that break LAPACK's headers
// when it comes first.
#if defined(__linux__)
struct terminal_window {
    unsigned short rows, cols, x_pixels, y_pixels;
};
extern "C" int ioctl(int, unsigned long, ...) noexcept;
inline std::size_t terminal_columns(int fd) {
    terminal_window w{};
    return ioctl(fd, 0x5413ul /* TIOCGWINSZ */, &w) == 0 ? w.cols : 0;
}
#else
inline std::size_t terminal_columns(int) { return 0; }
#endif

// A duration for people: 42 s, 3 min 05 s, 2 h 07 min; beyond 100 hours "> 100 h".
inline std::string duration_string(double s) {
    char buf[48];
    if (!(s >= 0.0) || !std::isfinite(s)) return "?";
    if (s >= 359999.5) return "> 100 h";
    const long whole = std::lround(s), minutes = std::lround(s / 60.0);
    if (s < 59.5) std::snprintf(buf, sizeof buf, "%ld s", whole);
    else if (s < 3599.5) std::snprintf(buf, sizeof buf, "%ld min %02ld s", whole / 60, whole % 60);
    else std::snprintf(buf, sizeof buf, "%ld h %02ld min", minutes / 60, minutes % 60);
    return buf;
}

// One progress line: iteration (of the limit), loss, ‖g‖, step, the elapsed time, the rate and,
// while the run goes on and a limit bounds it, the time left: "about" at this rate before the
// iteration limit, "at most" when the time limit comes first (a tolerance may end the run
// sooner). `first_iteration` and `first_seconds` are where this call of minimize began, so that
// the rate is this run's, a resumed one included.
inline std::string progress_line(const std::string& name, const iteration_record& r, const stopping& stop, std::size_t first_iteration,
                                 double first_seconds, bool final) {
    char buf[256];
    std::string line = name;
    line.resize(std::max<std::size_t>(line.size(), 12), ' ');
    const bool limited = stop.max_iterations != std::size_t(-1);
    if (limited) std::snprintf(buf, sizeof buf, "  it %zu/%zu", r.iteration, stop.max_iterations);
    else std::snprintf(buf, sizeof buf, "  it %zu", r.iteration);
    line += buf;
    std::snprintf(buf, sizeof buf, "  loss %.4e  |g| %.2e  %s", r.loss, r.gradient_norm, duration_string(r.seconds).c_str());
    line += buf;
    const double dt = r.seconds - first_seconds;
    if (r.iteration > first_iteration && dt > 0.0) {
        const double rate = double(r.iteration - first_iteration) / dt;
        std::snprintf(buf, sizeof buf, "  %.3g it/s", rate);
        line += buf;
        if (final) return line;
        const double by_iterations =
            limited ? double(stop.max_iterations - std::min(stop.max_iterations, r.iteration)) / rate : std::numeric_limits<double>::infinity();
        const double by_time = std::isfinite(stop.time_limit) ? std::max(0.0, stop.time_limit - r.seconds) : std::numeric_limits<double>::infinity();
        if (std::isfinite(by_time) && by_time <= by_iterations) line += "  at most " + duration_string(by_time) + " left";
        else if (std::isfinite(by_iterations)) line += "  about " + duration_string(by_iterations) + " left";
    }
    return line;
}

// Where progress goes. On a terminal one line rewrites itself (\r, cut to the terminal's width
// so that it never wraps, padded over a longer previous one), at most ten times a second, and
// ends with the run (or when an exception leaves minimize); elsewhere each shown iteration is a
// line of its own, and nothing at all unless asked.
class progress_printer {
public:
    progress_printer(const stopping& stop, std::string name)
        : stop_(stop), name_(std::move(name)), terminal_(stop.print_every != 0 && isatty(fileno(stdout))),
          show_(stop.print_every != 0 && (terminal_ || stop.print_when_not_a_terminal)) {}
    progress_printer(const progress_printer&) = delete;
    progress_printer& operator=(const progress_printer&) = delete;
    ~progress_printer() {
        if (open_) std::fputc('\n', stdout), std::fflush(stdout);
    }
    // Where this call's run begins: the first record, or the iteration a resume starts from.
    void begin_at(std::size_t iteration, double seconds) {
        first_iteration_ = iteration, first_seconds_ = seconds, begun_ = true;
    }
    void iteration(const iteration_record& r) {
        if (!begun_) begin_at(r.iteration, r.seconds);
        if (!show_ || r.iteration % stop_.print_every != 0 || (terminal_ && shown_ && r.seconds - last_seconds_ < 0.1)) return;
        print(r, false);
    }
    void end(const iteration_record& r) {
        if (!begun_) begin_at(r.iteration, r.seconds);
        if (show_ && (terminal_ || !shown_ || r.iteration != last_iteration_)) print(r, true);
    }

private:
    void print(const iteration_record& r, bool final) {
        std::string line = progress_line(name_, r, stop_, first_iteration_, first_seconds_, final);
        if (terminal_) {
            const std::size_t columns = terminal_columns(fileno(stdout));
            if (columns > 1 && line.size() >= columns) line.resize(columns - 1);
            const std::size_t width = line.size();
            if (line.size() < width_) line.resize(width_, ' ');
            width_ = width;
            std::fprintf(stdout, "\r%s%s", line.c_str(), final ? "\n" : "");
            open_ = !final;
        } else {
            std::fprintf(stdout, "%s\n", line.c_str());
        }
        std::fflush(stdout);
        shown_ = true, last_iteration_ = r.iteration, last_seconds_ = r.seconds;
    }
    const stopping& stop_;
    std::string name_;
    bool terminal_, show_, begun_ = false, shown_ = false, open_ = false;
    std::size_t first_iteration_ = 0, last_iteration_ = 0, width_ = 0;
    double first_seconds_ = 0.0, last_seconds_ = 0.0;
};
}  // namespace detail

}  // namespace gateaux
