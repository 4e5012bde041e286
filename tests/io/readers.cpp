// The CSV and .npy readers against xtensor's own readers on valid files (random tables at several
// sizes and seeds), and against every kind of malformed file, with the file, line and column in
// the error; the seeded shuffle and split, and the standardizer with its statistics checkpointed.
// xt::load_npy (the oracle here) parses headers with std::regex, whose std::function members g++
// 12 takes for maybe-uninitialised under the sanitizer build's -O1: a false positive in libstdc++.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include <xtensor/xcsv.hpp>
#include <xtensor/xnpy.hpp>

#include <gateaux/gateaux.hpp>

using namespace gateaux;
namespace fs = std::filesystem;

namespace {

std::string temp(const std::string& name) { return (fs::temp_directory_path() / ("gateaux-readers-" + name)).string(); }

void spill(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

tensor random_table(std::size_t r, std::size_t c, std::mt19937_64& g) {
    std::normal_distribution<double> N(0.0, 1.0);
    std::uniform_int_distribution<int> e(-30, 30);
    tensor t = xt::empty<double>({r, c});
    for (double& v : t) v = N(g) * std::pow(10.0, e(g));
    return t;
}

bool identical(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

// The error's message, which must name `source`.
template <class F>
std::string refusal(F&& f, const std::string& source) {
    try {
        f();
    } catch (const file_error& e) {
        const std::string what = e.what();
        CHECK(what.find(source) != std::string::npos);
        return what;
    }
    FAIL("accepted");
    return "";
}

std::string npy_with_header(const std::string& dict, const std::string& data, char major = 1) {
    std::string h = dict;
    const std::size_t pre = major == 1 ? 10 : 12;
    while ((pre + h.size() + 1) % 64 != 0) h += ' ';
    h += '\n';
    std::string out = "\x93NUMPY";
    out += major;
    out += '\0';
    out += char(h.size() & 255);
    out += char((h.size() >> 8) & 255);
    if (major != 1) out += std::string(2, '\0');
    return out + h + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
    std::string s;
    for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
    return s;
}

}  // namespace

TEST_CASE("read_csv reads what xt::load_csv reads from valid files, exactly") {
    std::mt19937_64 g(1);
    for (std::size_t r : {1, 2, 17, 300})
        for (std::size_t c : {1, 3, 64}) {
            const tensor t = random_table(r, c, g);
            std::ostringstream text;
            text.precision(17);
            for (std::size_t i = 0; i < r; ++i)
                for (std::size_t j = 0; j < c; ++j) text << t(i, j) << (j + 1 < c ? "," : "\n");
            const std::string path = temp("valid.csv");
            spill(path, text.str());
            const tensor ours = read_csv(path);
            std::ifstream in(path);
            const tensor theirs = xt::load_csv<double>(in);
            INFO(r << "×" << c);
            REQUIRE(identical(ours, t));
            REQUIRE(identical(ours, theirs));
            fs::remove(path);
        }
}

TEST_CASE("read_csv skips headers, comments and blank lines, and takes spaces, '+' and CRLF") {
    csv_options o;
    o.header_rows = 1;
    const tensor t = parse_csv("a,b,c\n# a comment\n 1, +2.5 ,-3e2\r\n\n   \n4,5,6", "inline", o);
    REQUIRE(t.shape(0) == 2);
    REQUIRE(t.shape(1) == 3);
    CHECK(t(0, 1) == 2.5);
    CHECK(t(0, 2) == -300.0);
    CHECK(t(1, 2) == 6.0);
    csv_options semi;
    semi.delimiter = ';';
    semi.allow_non_finite = true;
    const tensor u = parse_csv("nan;inf\n-inf;1\n", "inline", semi);
    CHECK(std::isnan(u(0, 0)));
    CHECK(u(1, 0) == -std::numeric_limits<double>::infinity());
}

TEST_CASE("read_csv refuses malformed files, naming the file, line and column") {
    const auto said = [](const std::string& text, const std::string& expected, csv_options o = {}) {
        const std::string what = refusal([&] { parse_csv(text, "bad.csv", o); }, "bad.csv");
        INFO(what);
        CHECK(what.find(expected) != std::string::npos);
    };
    said("1,2,3\n4,5\n", "line 2: 2 fields, but line 1 has 3");
    said("1,2\n4,5,6\n", "line 2, column 3 (character 5): this row has more than the 2 fields of line 1");
    said("1,2\n\n# c\n3,,4\n", "line 4, column 2 (character 3): empty field");
    said("1,2\n3,1.5x\n", "line 2, column 2 (character 3): '1.5x' is not a number");
    said("1, abc\n", "line 1, column 2 (character 4): 'abc' is not a number");
    said("1,0x10\n", "'0x10' is not a number");
    said("1,--2\n", "'--2' is not a number");
    said("1,+\n", "'+' is not a number");
    said("1,+-1\n", "'+-1' is not a number");
    said("1,++1\n", "'++1' is not a number");
    said("1e-400\n", "'1e-400' is out of the range of a double (too large or too small in magnitude)");
    said("1,nan\n", "line 1, column 2 (character 3): 'nan' is not finite (allow_non_finite is off)");
    said("1\n-inf\n", "line 2, column 1 (character 1): '-inf' is not finite");
    said("1e400\n", "'1e400' is out of the range of a double");
    said("", "has no data rows");
    said("# only\n\n", "has no data rows");
    csv_options four;
    four.columns = 4;
    said("1,2,3\n", "line 1: 3 columns, expected 4", four);
    const std::string what = refusal([] { read_csv(temp("does-not-exist.csv")); }, "does-not-exist.csv");
    CHECK(what.find("cannot open") != std::string::npos);
}

TEST_CASE("read_npy reads what xt::load_npy reads from valid files, and its own writer's, exactly") {
    std::mt19937_64 g(2);
    for (std::size_t r : {0, 1, 5, 200})
        for (std::size_t c : {1, 4, 33}) {
            const tensor t = random_table(r, c, g);
            const std::string path = temp("valid.npy");
            write_npy(path, t);
            const tensor ours = read_npy(path);
            INFO(r << "×" << c);
            REQUIRE(identical(ours, t));
            if (r > 0) {
                const auto theirs = xt::load_npy<double>(path);
                REQUIRE(theirs.dimension() == 2);
                REQUIRE(std::equal(theirs.begin(), theirs.end(), ours.begin()));
            }
            fs::remove(path);
        }
}

TEST_CASE("read_npy converts the dtypes, orders and shapes NumPy writes") {
    // float32 in Fortran order: elements in file order are columns.
    const tensor f = parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                               raw<float>({1, 2, 3, 4, 5, 6})),
                               "f4");
    CHECK(identical(f, tensor{{1, 3, 5}, {2, 4, 6}}));
    // int64, version 2.0, a 1-D shape (read as a column), keys in another order.
    const tensor i = parse_npy(npy_with_header("{'shape': (3,), 'fortran_order': False, 'descr': '<i8'}",
                                               raw<std::int64_t>({-1, 2, 1ll << 40}), 2),
                               "i8");
    CHECK(identical(i, tensor{{-1}, {2}, {double(1ll << 40)}}));
    const tensor u = parse_npy(npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", raw<std::uint8_t>({7, 255})), "u1");
    CHECK(identical(u, tensor{{7, 255}}));
    const tensor s = parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", raw<double>({2.5})), "scalar");
    CHECK(identical(s, tensor{{2.5}}));
}

TEST_CASE("read_npy refuses malformed files, naming the file and the fault") {
    const std::string good = npy_bytes(tensor{{1.0, 2.0}, {3.0, 4.0}});
    const auto said = [](const std::string& bytes, const std::string& expected, npy_options o = {}) {
        const std::string what = refusal([&] { parse_npy(bytes, "bad.npy", o); }, "bad.npy");
        INFO(what);
        CHECK(what.find(expected) != std::string::npos);
    };
    const auto dict = [](const std::string& d) { return npy_with_header(d, raw<double>({1, 2})); };
    said(good.substr(0, 5), "too short for a .npy file (5 bytes");
    said("PK" + good.substr(2), "not a .npy file");
    said(good.substr(0, 6) + "\x04" + good.substr(7), "format version 4.0 is not 1.0, 2.0 or 3.0");
    said(good.substr(0, good.size() - 1), "needs 32 bytes of data, the file has 31");
    said(good + "x", "needs 32 bytes of data, the file has 33");
    said(good.substr(0, 40), "the header says it is");
    said(dict("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }"), "dtype '>f8' is big-endian");
    said(dict("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"), "dtype '<c16' is not one of float64");
    said(dict("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"), "dtype '|O' is not a numeric dtype");
    said(dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 2), }"), "more than two dimensions");
    said(dict("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 1), }"), "a dimension overflows 64 bits");
    said(dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"), "the shape's size overflows");
    said(dict("{'descr': '<f8', 'shape': (2,), }"), "the key 'fortran_order' is missing");
    said(dict("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"), "the key 'descr' appears twice");
    said(dict("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,), }"), "fortran_order is neither True nor False");
    said(dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}"), "unknown key 'extra'");
    said(dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)"), "expected ',' or '}'");
    said(dict("{'descr': '<f8, 'fortran_order': False, 'shape': (2,), }"), "malformed header");
    said(dict(""), "expected '{'");
    said(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", raw<double>({1, std::nan("")})),
         "element (1, 0) is nan (allow_non_finite is off)");
    said(npy_with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", raw<std::int64_t>({(1ll << 53) + 2})),
         "element (0, 0) is an integer beyond 2^53");
    said(npy_with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", raw<std::int64_t>({(1ll << 53) + 1})),
         "element (0, 0) is an integer beyond 2^53");
    said(npy_with_header("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", raw<std::uint64_t>({(1ull << 53) + 1})),
         "element (0, 0) is an integer beyond 2^53");
    CHECK(parse_npy(npy_with_header("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", raw<std::int64_t>({-(1ll << 53)})), "edge")(0, 0) ==
          -9007199254740992.0);
    npy_options any;
    any.allow_non_finite = true;
    CHECK(std::isnan(parse_npy(npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", raw<double>({std::nan("")})),
                               "nan.npy", any)(0, 0)));
    const std::string what = refusal([] { read_npy(temp("does-not-exist.npy")); }, "does-not-exist.npy");
    CHECK(what.find("cannot open") != std::string::npos);
}

TEST_CASE("shuffle_rows and train_test_split keep rows paired, are seeded, and cover every row once") {
    std::mt19937_64 g(3);
    for (std::size_t n : {2, 10, 101})
        for (double fraction : {0.1, 0.25, 0.5, 0.9}) {
            tensor x = xt::empty<double>({n, std::size_t(3)}), y = xt::empty<double>({n, std::size_t(1)});
            for (std::size_t i = 0; i < n; ++i) x(i, 0) = double(i), x(i, 1) = double(i) * 2, x(i, 2) = -double(i), y(i, 0) = double(i) + 0.5;
            const tensor x0 = x, y0 = y;
            const std::size_t test = std::size_t(std::llround(fraction * double(n)));
            if (test == 0 || test == n) {
                CHECK_THROWS_AS(train_test_split(x, y, fraction, 7), shape_error);
                continue;
            }
            const split s = train_test_split(x, y, fraction, 7);
            const split again = train_test_split(x, y, fraction, 7);
            const split other = train_test_split(x, y, fraction, 8);
            REQUIRE(s.test_x.shape(0) == test);
            REQUIRE(s.train_x.shape(0) == n - test);
            CHECK(identical(s.test_x, again.test_x));
            if (n > 10) CHECK(!identical(s.test_x, other.test_x));
            std::vector<int> seen(n, 0);
            for (const auto* part : {&s.train_x, &s.test_x})
                for (std::size_t i = 0; i < part->shape(0); ++i) seen[std::size_t((*part)(i, 0))]++;
            for (int c : seen) CHECK(c == 1);
            for (std::size_t i = 0; i < s.test_x.shape(0); ++i) {
                CHECK(s.test_y(i, 0) == s.test_x(i, 0) + 0.5);
                CHECK(s.test_x(i, 1) == 2 * s.test_x(i, 0));
            }
            const shuffled sh = shuffle_rows(x, y, 9);
            for (std::size_t i = 0; i < n; ++i) CHECK(sh.y(i, 0) == sh.x(i, 0) + 0.5);
            CHECK(identical(x, x0));
            CHECK(identical(y, y0));
        }
    const tensor x = xt::ones<double>({4, 2}), y = xt::ones<double>({3, 1});
    CHECK_THROWS_WITH(train_test_split(x, y, 0.5, 1), Catch::Contains("the inputs have 4 rows, the targets 3"));
    CHECK_THROWS_WITH(train_test_split(x, x, 1.0, 1), Catch::Contains("test_fraction must be in (0, 1), got 1"));
    CHECK_THROWS_WITH(shuffle_rows(x, y, 1), Catch::Contains("the inputs have 4 rows, the targets 3"));
}

TEST_CASE("standardizer: mean 0 and sd 1 on what it was fitted on, the same map elsewhere, statistics through a checkpoint") {
    std::mt19937_64 g(4);
    for (std::size_t n : {2, 9, 200}) {
        tensor x = random_table(n, 4, g);
        for (std::size_t i = 0; i < n; ++i) x(i, 3) = 7.0;  // a constant column
        const standardizer s(x);
        const tensor z = s.apply(x);
        for (std::size_t j = 0; j < 3; ++j) {
            double mean = 0.0, sq = 0.0;
            for (std::size_t i = 0; i < n; ++i) mean += z(i, j);
            mean /= double(n);
            for (std::size_t i = 0; i < n; ++i) sq += (z(i, j) - mean) * (z(i, j) - mean);
            CHECK(std::abs(mean) < 1e-12);
            CHECK(std::sqrt(sq / double(n)) == Approx(1.0).epsilon(1e-12));
        }
        for (std::size_t i = 0; i < n; ++i) CHECK(z(i, 3) == 0.0);
        const tensor other = random_table(5, 4, g);
        const tensor expected = (other - s.mean()) / s.sd();
        CHECK(identical(s.apply(other), tensor(expected)));

        const std::string dir = temp("standardizer");
        fs::remove_all(dir);
        standardizer saved = s, loaded;
        checkpoint().add("scaler", saved).save(dir);
        checkpoint().add("scaler", loaded).load(dir);
        CHECK(identical(loaded.apply(other), s.apply(other)));
        fs::remove_all(dir);
    }
    standardizer empty;
    CHECK_THROWS_WITH(empty.apply(xt::ones<double>({2, 2})), Catch::Contains("fit it first"));
    const standardizer s(xt::ones<double>({3, 2}));
    CHECK_THROWS_WITH(s.apply(xt::ones<double>({3, 5})), Catch::Contains("the data has 5 columns, it was fitted on 2"));
    tensor bad = xt::ones<double>({3, 2});
    bad(1, 1) = std::nan("");
    CHECK_THROWS_WITH(standardizer(bad), Catch::Contains("NaN or ±inf"));
}

TEST_CASE("the shipped digits file reads with the strict reader") {
    const tensor d = read_csv(GATEAUX_SOURCE_DIR "/examples/data/digits.csv");
    CHECK(d.shape(0) == 1797);
    CHECK(d.shape(1) == 65);
}
