// Checkpoints refuse damage and never half-load: cut short at every byte offset, or with any one
// byte flipped, every file of a checkpoint is refused with an error naming it, and the objects
// keep their state; a process killed at random moments while saving leaves a checkpoint that
// loads, and is one of the states it saved; a training run killed mid-run resumes bit-identically.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <gateaux/gateaux.hpp>
#include <gateaux/io/checkpoint.hpp>
#include <gateaux/optim/minimize.hpp>

#include "io/resume_support.hpp"
#include "optim/fisher_networks.hpp"

using namespace gateaux;
using resume_support::scratch_dir;
namespace fs = std::filesystem;
namespace net = fisher_networks::cls;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void spill(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

bool same_map(const state_map& a, const state_map& b) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
        if (i->first != j->first || i->second.index() != j->second.index()) return false;
        if (const tensor* t = std::get_if<tensor>(&i->second)) {
            const tensor& u = std::get<tensor>(j->second);
            if (t->shape() != u.shape() || !std::equal(t->begin(), t->end(), u.begin())) return false;
        } else if (const double* r = std::get_if<double>(&i->second)) {
            if (std::memcmp(r, &std::get<double>(j->second), sizeof(double)) != 0) return false;
        } else if (i->second != j->second) {
            return false;
        }
    }
    return true;
}

// A small training state: parameters, L-BFGS's pairs and the objective's minibatch draws after a
// few iterations.
struct trained {
    tensor X, Y;
    param_set x;
    decltype(make_objective(net::loss, net::w)) f = make_objective(net::loss, net::w);
    lbfgs opt{lbfgs_options{2}};
    // The data from data_seed; the starting point from seed.
    trained(std::uint64_t seed, std::size_t iterations, std::uint64_t data_seed = 1) {
        fisher_networks::rng d(data_seed);
        X = fisher_networks::gaussian(24, 4, d);
        Y = fisher_networks::one_hot(24, 3, d);
        fisher_networks::rng g(seed);
        x = param_set({fisher_networks::gaussian(4, 6, g, 0.5), fisher_networks::gaussian(1, 6, g, 0.1),
                       fisher_networks::gaussian(6, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
        f.set_data(net::x, X).set_data(net::y, Y).use_minibatches(8, seed);
        stopping stop;
        stop.max_iterations = iterations;
        stop.gradient_tolerance = 0.0;
        minimize(f, x, opt, stop);
    }
    checkpoint bundle() {
        checkpoint ck;
        ck.add("parameters", x).add("optimizer", opt).add("objective", f);
        return ck;
    }
};

}  // namespace

TEST_CASE("state round-trips bit for bit through a checkpoint, ±inf and NaN included") {
    scratch_dir dir("ckpt-roundtrip");
    state_map m;
    m.emplace("a/real", 0.1);
    m.emplace("a/tiny", 4.9e-324);
    m.emplace("a/inf", -std::numeric_limits<double>::infinity());
    m.emplace("a/count", std::size_t(18446744073709551615ull));
    m.emplace("a/flag", true);
    m.emplace("a/text", std::string("two words\nand a line\0with a nul", 30));
    m.emplace("a/empty_text", std::string());
    tensor t = {{1.0, -0.0}, {std::nan(""), 1e308}};
    m.emplace("b/matrix", t);
    m.emplace("b/empty", tensor(xt::empty<double>({std::size_t(0), std::size_t(3)})));
    write_checkpoint(dir.path, m);
    state_map back = read_checkpoint(dir.path);
    REQUIRE(back.size() == m.size());
    CHECK(std::isnan(std::get<tensor>(back.at("b/matrix"))(1, 0)));
    std::get<tensor>(m.at("b/matrix"))(1, 0) = std::get<tensor>(back.at("b/matrix"))(1, 0) = 0.0;  // NaN ≠ NaN
    CHECK(same_map(back, m));
    CHECK(std::signbit(std::get<tensor>(back.at("b/matrix"))(0, 1)));
    // A second save replaces the first, and leaves no files of the first behind; files that are
    // not the checkpoint's own stay.
    const std::vector<std::string> others = {"git", "gpu", "g1-notes.txt", "g1-x.npy", ".other.tmp-1", ".manifest.tmp-x", "notes"};
    for (const std::string& n : others) spill(fs::path(dir.path) / n, "mine");
    spill(fs::path(dir.path) / ".g1-0.npy.tmp-12345", "a temporary a killed save left");
    m.at("a/real") = 0.2;
    write_checkpoint(dir.path, m);
    CHECK(std::get<double>(read_checkpoint(dir.path).at("a/real")) == 0.2);
    for (const auto& e : fs::directory_iterator(dir.path)) {
        const std::string n = e.path().filename().string();
        CHECK((n == "manifest" || n.rfind("g2-", 0) == 0 || std::find(others.begin(), others.end(), n) != others.end()));
    }
    for (const std::string& n : others) CHECK(slurp(fs::path(dir.path) / n) == "mine");
}

TEST_CASE("a checkpoint cut short at any byte, or with any byte flipped, is refused and nothing is loaded") {
    scratch_dir dir("ckpt-damage");
    trained source(3, 4);
    source.bundle().save(dir.path);

    // The objects that a refused load must leave alone: another run's state.
    trained target(4, 2);
    checkpoint ck = target.bundle();
    const state_map before = ck.collect();
    const std::size_t x_blocks = target.x.size();

    // Every damaged copy goes through the reader and the objects: from memory, and every 29th also
    // from the disk (the same checks; the disk alone made this test take 16 s).
    std::map<std::string, std::string> bytes;
    for (const auto& e : fs::directory_iterator(dir.path)) bytes[e.path().filename().string()] = slurp(e.path());
    std::size_t refusals = 0, files = 0;
    std::mt19937_64 g(11);
    for (const auto& [file, original] : bytes) {
        ++files;
        const fs::path p = fs::path(dir.path) / file;
        const auto refused = [&](const std::string& damaged, const std::string& how) {
            std::map<std::string, std::string> copy = bytes;
            copy[file] = damaged;
            const bool from_disk = refusals % 29 == 0;
            if (from_disk) spill(p, damaged);
            try {
                if (from_disk) ck.load(dir.path);
                else
                    ck.apply(parse_checkpoint(copy.at("manifest"), dir.path, [&](const std::string& name) {
                        if (!copy.count(name)) throw file_error("gateaux::checkpoint: cannot open '" + name + "'");
                        return copy.at(name);
                    }));
                FAIL(file << " " << how << " was accepted");
            } catch (const error& err) {
                const std::string what = err.what();
                // The message names the damaged file (the manifest names itself, a matrix file its own path).
                if (what.find(file) == std::string::npos) FAIL(how << ": " << what);
            }
            if (from_disk) spill(p, original);
            ++refusals;
        };
        for (std::size_t cut = 0; cut < original.size(); ++cut) refused(original.substr(0, cut), "cut at " + std::to_string(cut));
        for (std::size_t at = 0; at < original.size(); ++at) {
            std::string flipped = original;
            flipped[at] = char(flipped[at] ^ char(1u << std::uniform_int_distribution<int>(0, 7)(g)));
            refused(flipped, "with byte " + std::to_string(at) + " flipped");
        }
        REQUIRE(same_map(ck.collect(), before));  // nothing was half-loaded
        REQUIRE(target.x.size() == x_blocks);
    }
    INFO(refusals << " damaged checkpoints over " << files << " files");
    CHECK(files > 10);
    CHECK(refusals > 5000);
    // Undamaged, it loads: the target now holds the source's state.
    ck.load(dir.path);
    CHECK(same_map(ck.collect(), source.bundle().collect()));
}

TEST_CASE("an entry that does not fit the objects is refused, and every object keeps its state") {
    scratch_dir dir("ckpt-misfit");
    trained source(5, 3);
    state_map m = source.bundle().collect();
    trained target(6, 2);
    checkpoint ck = target.bundle();
    const state_map before = ck.collect();
    const auto refused = [&](state_map damaged, const std::string& expected) {
        write_checkpoint(dir.path, damaged);
        try {
            ck.load(dir.path);
            FAIL("accepted");
        } catch (const checkpoint_error& e) {
            INFO(e.what());
            CHECK(std::string(e.what()).find(expected) != std::string::npos);
        }
        CHECK(same_map(ck.collect(), before));
    };
    {
        state_map d = m;
        d.erase("optimizer/rho");
        refused(d, "the entry 'optimizer/rho' is missing");
    }
    {
        state_map d = m;
        d.at("optimizer/gamma") = std::size_t(3);
        refused(d, "'optimizer/gamma' is a count, expected a real");
    }
    {
        state_map d = m;
        d.at("optimizer/s/1/1") = tensor(xt::zeros<double>({2, 6}));
        refused(d, "'optimizer/s/1/1' is 2×6, the state in memory is 1×6");
    }
    {
        state_map d = m;
        d.at("objective/rows/order") = tensor(xt::ones<double>({24, 1}) * 30.0);
        refused(d, "names a row beyond its data");
    }
    {
        // A count beyond the entries it counts is refused before anything is allocated for it.
        state_map d = m;
        d.at("optimizer/s/count") = std::size_t(1) << 60;
        refused(d, "'optimizer/s' counts 1152921504606846976 sets, but its set 1152921504606846975 is missing");
    }
    {
        state_map d = m;
        d.at("optimizer/next") = std::size_t(2);
        refused(d, "ring position 2 and count");
    }
}

TEST_CASE("a process killed while saving leaves a checkpoint that loads, holding one of the states it saved") {
    scratch_dir dir("ckpt-kill");
    std::mt19937_64 g(21);
    std::set<std::size_t> saved;
    for (int trial = 0; trial < 20; ++trial) {
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            // Saves states k = 1, 2, 3, ...: every entry of state k holds k.
            for (std::size_t k = 1;; ++k) {
                state_map m;
                m.emplace("k", k);
                for (int i = 0; i < 6; ++i) m.emplace("m" + std::to_string(i), tensor(xt::ones<double>({std::size_t(20), std::size_t(20)}) * double(k)));
                try {
                    write_checkpoint(dir.path, m);
                } catch (...) {
                    _exit(3);
                }
            }
        }
        // Killed at a random moment after its first commit (a kill before it leaves nothing to load).
        const auto t0 = std::chrono::steady_clock::now();
        while (!checkpoint_exists(dir.path) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 30000)(g)));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(checkpoint_exists(dir.path));
        const state_map m = read_checkpoint(dir.path);
        const std::size_t k = std::get<std::size_t>(m.at("k"));
        for (int i = 0; i < 6; ++i) {
            const tensor& t = std::get<tensor>(m.at("m" + std::to_string(i)));
            REQUIRE(std::all_of(t.begin(), t.end(), [&](double v) { return v == double(k); }));
        }
        saved.insert(k);
        fs::remove_all(dir.path);
    }
    INFO(saved.size() << " distinct states loaded");
    CHECK(saved.size() >= 2);
}

TEST_CASE("a training run killed at a random moment resumes from its last checkpoint with bit-identical iterates") {
    fisher_networks::rng g(31);
    const tensor X = fisher_networks::gaussian(64, 4, g), Y = fisher_networks::one_hot(64, 3, g);
    const param_set x0({fisher_networks::gaussian(4, 6, g, 0.5), fisher_networks::gaussian(1, 6, g, 0.1),
                        fisher_networks::gaussian(6, 3, g, 0.5), fisher_networks::gaussian(1, 3, g, 0.1)});
    const std::size_t N = 400;
    const auto train = [&](const std::string& dir, std::vector<param_set>* iterates, std::size_t every) {
        auto f = make_objective(net::loss, net::w);
        f.set_data(net::x, X).set_data(net::y, Y).use_minibatches(16, 7);
        adam opt;
        param_set x = x0;
        stopping stop;
        stop.max_iterations = N;
        stop.gradient_tolerance = 0.0;
        stop.checkpoint.directory = dir;
        stop.checkpoint.every = every;
        return minimize(f, x, opt, stop, [&](const iteration_record&, const param_set& p) {
            if (iterates != nullptr) iterates->push_back(p);
            return true;
        });
    };
    std::vector<param_set> straight;
    train("", &straight, 0);
    REQUIRE(straight.size() == N);

    std::mt19937_64 pick(5);
    for (int trial = 0; trial < 3; ++trial) {
        scratch_dir dir("ckpt-killed-run-" + std::to_string(trial));
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            train(dir.path, nullptr, 1);
            _exit(0);
        }
        const auto t0 = std::chrono::steady_clock::now();
        while (!checkpoint_exists(dir.path) && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 100)(pick)));
        kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        std::vector<param_set> rest;
        const result r = train(dir.path, &rest, 0);
        INFO("trial " << trial << ": resumed after iteration " << N - rest.size());
        REQUIRE(r.iterations == N);
        REQUIRE(rest.size() <= N);
        for (std::size_t i = 0; i < rest.size(); ++i) {
            const param_set& a = rest[i];
            const param_set& b = straight[N - rest.size() + i];
            for (std::size_t k = 0; k < a.size(); ++k) REQUIRE(std::equal(a[k].begin(), a[k].end(), b[k].begin()));
        }
    }
}
