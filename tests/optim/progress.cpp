// Tests for minimize's progress output (optim/progress.hpp): the line's fields (iteration of the
// limit, elapsed time, rate, time left under the iteration and time limits) against values worked
// out by hand; durations for people; nothing written when stdout is a file or a pipe unless asked,
// then one line per shown iteration and the last one once; on a terminal (a pseudo-terminal here)
// one line rewritten with \r and ended with \n. The history as CSV (result::write_csv) reads back
// exactly, and scripts/plot_history draws it (a PNG), leaving out a history without rows.
#include <catch2/catch.hpp>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <gateaux/gateaux.hpp>

// After gateaux: <pty.h> brings <termios.h>, whose macros (B0, ...) clash with LAPACK's headers.
#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

namespace {

using namespace gateaux;

constexpr auto x = input<"x", 3>;
constexpr auto y = target<"y", 2>;
constexpr auto W = param<"W", 3, 2>;
constexpr auto loss = mse(x * W, y);

// What minimize writes to stdout while stdout is the descriptor `fd` (a file or a terminal).
template <class F>
void with_stdout(int fd, F&& run) {
    std::fflush(stdout);
    const int saved = dup(1);
    REQUIRE(saved >= 0);
    REQUIRE(dup2(fd, 1) == 1);
    run();
    std::fflush(stdout);
    REQUIRE(dup2(saved, 1) == 1);
    close(saved);
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
    return out;
}

result train(const stopping& stop) {
    auto f = make_objective(loss, wrt(W));
    const tensor X{{1.0, 0.0, 0.5}, {0.0, 1.0, -0.5}, {1.0, 1.0, 0.0}, {0.5, -1.0, 1.0}};
    const tensor Y{{1.0, 0.0}, {0.0, 1.0}, {1.0, 1.0}, {-1.0, 0.5}};
    f.set_data(x, X).set_data(y, Y);
    auto theta = zeros(wrt(W));
    gradient_descent opt(0.1);
    return minimize(f, theta, opt, stop);
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
    return n;
}

}  // namespace

TEST_CASE("durations read as people write them", "[optim][progress]") {
    CHECK(detail::duration_string(0.0) == "0 s");
    CHECK(detail::duration_string(42.4) == "42 s");
    CHECK(detail::duration_string(59.4) == "59 s");
    CHECK(detail::duration_string(59.6) == "1 min 00 s");
    CHECK(detail::duration_string(185.0) == "3 min 05 s");
    CHECK(detail::duration_string(7620.0) == "2 h 07 min");
    CHECK(detail::duration_string(359000.0) == "99 h 43 min");
    CHECK(detail::duration_string(1e300) == "> 100 h");
    CHECK(detail::duration_string(-1.0) == "?");
    CHECK(detail::duration_string(std::numeric_limits<double>::quiet_NaN()) == "?");
}

TEST_CASE("the progress line: iteration of the limit, elapsed, rate, time left", "[optim][progress]") {
    const iteration_record r{50, 0.25, 1e-3, 0.1, 0.5, 10.0, 51};
    stopping stop;
    stop.max_iterations = 1000;
    // 50 iterations in 10 s: 5 it/s; 950 left: 190 s.
    std::string line = detail::progress_line("lbfgs", r, stop, 0, 0.0, false);
    INFO(line);
    CHECK(line.rfind("lbfgs       ", 0) == 0);
    CHECK(line.find("it 50/1000") != std::string::npos);
    CHECK(line.find("loss 2.5000e-01") != std::string::npos);
    CHECK(line.find("  10 s") != std::string::npos);
    CHECK(line.find("5 it/s") != std::string::npos);
    CHECK(line.find("about 3 min 10 s left") != std::string::npos);  // an estimate at this rate
    // The run's last line: no estimate.
    CHECK(detail::progress_line("lbfgs", r, stop, 0, 0.0, true).find("left") == std::string::npos);
    // A time limit that comes first bounds it: 60 − 10 = 50 s.
    stop.time_limit = 60.0;
    line = detail::progress_line("lbfgs", r, stop, 0, 0.0, false);
    CHECK(line.find("at most 50 s left") != std::string::npos);
    // The rate of this call only (a resumed run from iteration 40 at 8 s: 10 in 2 s).
    stop.time_limit = std::numeric_limits<double>::infinity();
    line = detail::progress_line("lbfgs", r, stop, 40, 8.0, false);
    CHECK(line.find("5 it/s") != std::string::npos);
    CHECK(line.find("about 3 min 10 s left") != std::string::npos);
    // A huge limit: the estimate says so, with no overflow.
    stop.max_iterations = std::size_t(1e15);
    CHECK(detail::progress_line("lbfgs", r, stop, 0, 0.0, false).find("about > 100 h left") != std::string::npos);
    // No limit: no estimate; no iteration yet: no rate.
    stop.max_iterations = std::size_t(-1);
    line = detail::progress_line("lbfgs", r, stop, 0, 0.0, false);
    CHECK(line.find("it 50  ") != std::string::npos);
    CHECK(line.find("left") == std::string::npos);
    line = detail::progress_line("lbfgs", r, stop, 50, 10.0, false);
    CHECK(line.find("it/s") == std::string::npos);
}

TEST_CASE("no progress into a file unless asked; then each shown iteration once", "[optim][progress]") {
    for (const std::size_t every : {1, 3, 7}) {
        INFO("print_every = " << every);
        char path[] = "/tmp/gateaux-progress-XXXXXX";
        const int fd = mkstemp(path);
        REQUIRE(fd >= 0);
        unlink(path);
        stopping stop;
        stop.max_iterations = 20;
        stop.gradient_tolerance = 0.0;
        stop.print_every = every;
        result quiet_run, loud_run;
        with_stdout(fd, [&] { quiet_run = train(stop); });
        CHECK(lseek(fd, 0, SEEK_END) == 0);  // nothing written
        stop.print_when_not_a_terminal = true;
        with_stdout(fd, [&] { loud_run = train(stop); });
        lseek(fd, 0, SEEK_SET);
        const std::string out = read_all(fd);
        close(fd);
        // Iterations 0..20: those divisible by `every`, and the last one if it is not.
        const std::size_t expected = 20 / every + 1 + (20 % every != 0);
        CHECK(count(out, "\n") == expected);
        CHECK(count(out, "it 20/20") == 1);
        CHECK(count(out, "\r") == 0);
        CHECK(quiet_run.final_loss == loud_run.final_loss);  // printing changes nothing
    }
}

TEST_CASE("on a terminal: one line rewritten in place, ended once", "[optim][progress]") {
    int master = -1, slave = -1;
    REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    stopping stop;
    stop.max_iterations = 30;
    stop.gradient_tolerance = 0.0;
    stop.print_every = 1;
    result r;
    with_stdout(slave, [&] { r = train(stop); });
    close(slave);
    fcntl(master, F_SETFL, O_NONBLOCK);
    const std::string out = read_all(master);
    close(master);
    INFO(out);
    CHECK(r.iterations == 30);
    CHECK(count(out, "\r") >= 2);                      // the first line and the last, at least
    CHECK(count(out, "\n") == 1);                      // one line, ended when the run ends
    CHECK(out.find("it 30/30") != std::string::npos);  // the last iteration is shown
    CHECK(out.find("it/s") != std::string::npos);
    CHECK((out.find("left") == std::string::npos || out.rfind("left") < out.rfind("it 30/30")));  // the last line has no estimate
}

namespace {
// Gradient descent that throws at its third step.
class throws_at_third final : public optimizer {
public:
    std::string name() const override { return "thrower"; }
    step_outcome start(objective& f, param_set& x) override {
        g_ = x.zeros_like();
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.0, 0.1, ""};
    }
    step_outcome step(objective& f, param_set& x) override {
        if (++steps_ == 3) throw std::runtime_error("third step");
        x.axpy(-0.1, g_);
        const double loss = f.value_and_gradient(x, g_);
        return {step_outcome::status::ok, loss, g_.norm(), 0.1 * g_.norm(), 0.1, ""};
    }

private:
    param_set g_;
    int steps_ = 0;
};
}  // namespace

TEST_CASE("on a narrow terminal the line is cut to its width; an exception still ends it", "[optim][progress]") {
    int master = -1, slave = -1;
    winsize narrow{};
    narrow.ws_col = 50, narrow.ws_row = 24;
    REQUIRE(openpty(&master, &slave, nullptr, nullptr, &narrow) == 0);
    stopping stop;
    stop.max_iterations = 20;
    stop.gradient_tolerance = 0.0;
    stop.print_every = 1;
    with_stdout(slave, [&] { train(stop); });
    bool threw = false;
    with_stdout(slave, [&] {
        auto f = make_objective(loss, wrt(W));
        f.set_data(x, tensor{{1.0, 0.0, 0.5}}).set_data(y, tensor{{1.0, 0.0}});
        auto theta = zeros(wrt(W));
        throws_at_third opt;
        try {
            minimize(f, theta, opt, stop);
        } catch (const std::runtime_error&) {
            threw = true;
        }
    });
    close(slave);
    fcntl(master, F_SETFL, O_NONBLOCK);
    const std::string out = read_all(master);
    close(master);
    INFO(out);
    CHECK(threw);
    CHECK(count(out, "\n") == 2);  // the first run's line, and the second's ended as the exception left
    CHECK(out.back() == '\n');
    // Every rewrite of the line fits in 49 columns (the pty may turn \n into \r\n).
    std::size_t longest = 0, run = 0;
    for (const char c : out) {
        if (c == '\r' || c == '\n') run = 0;
        else longest = std::max(longest, ++run);
    }
    CHECK(longest <= 49);
    CHECK(longest >= 40);
}

TEST_CASE("the history as CSV reads back exactly, and scripts/plot_history draws it", "[optim][progress]") {
    stopping stop;
    stop.max_iterations = 25;
    stop.gradient_tolerance = 0.0;
    const result r = train(stop);
    REQUIRE(r.history.size() == 26);
    char dir_template[] = "/tmp/gateaux-history-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template, csv = dir + "/gradient_descent.csv", empty = dir + "/refused.csv";
    r.write_csv(csv);
    result{}.write_csv(empty);  // a run with no history: the header only

    csv_options o;
    o.header_rows = 1;
    const tensor t = read_csv(csv, o);
    REQUIRE(t.shape(0) == r.history.size());
    REQUIRE(t.shape(1) == 7);
    for (std::size_t i = 0; i < r.history.size(); ++i) {
        const iteration_record& h = r.history[i];
        CHECK(t(i, 0) == double(h.iteration));
        CHECK(t(i, 1) == h.loss);  // 17 digits: exact
        CHECK(t(i, 2) == h.gradient_norm);
        CHECK(t(i, 3) == h.step_norm);
        CHECK(t(i, 4) == h.step_size);
        CHECK(t(i, 5) == h.seconds);
        CHECK(t(i, 6) == double(h.evaluations));
    }

    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        WARN("gnuplot is not installed: scripts/plot_history not run");
    } else {
        const std::string png = dir + "/history.png", log = dir + "/plot.log";
        const std::string cmd = std::string(GATEAUX_SOURCE_DIR) + "/scripts/plot_history " + png + " " + csv + " " + empty + " 2>" + log;
        CHECK(std::system(cmd.c_str()) == 0);
        std::FILE* f = std::fopen(png.c_str(), "rb");
        REQUIRE(f != nullptr);
        unsigned char magic[8] = {};
        CHECK(std::fread(magic, 1, 8, f) == 8);
        std::fclose(f);
        CHECK((magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G'));
        const int note = std::system(("grep -q 'refused.csv has no data rows; left out' " + log).c_str());
        CHECK(note == 0);
        // Only empty files: nothing to draw, an error.
        CHECK(std::system((std::string(GATEAUX_SOURCE_DIR) + "/scripts/plot_history " + png + " " + empty + " 2>/dev/null").c_str()) != 0);
    }
    std::filesystem::remove_all(dir);
}
