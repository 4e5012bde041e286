#pragma once
// Numeric CSV files as matrices.
//
//   read_csv(path, options)          a file of numbers, one row per line, as a rows×cols tensor;
//   parse_csv(text, source, options) the same from text in memory, `source` naming it in errors.
//
// Every line must hold the same number of fields, each one a decimal number (leading and
// trailing spaces and a final carriage return are ignored; std::from_chars reads it, so the value is the
// correctly rounded double). Blank lines, and lines that start with options.comment, are skipped;
// options.header_rows lines at the top are skipped unread. Anything else is an error that names
// the file, the line and the column (field number, and the character where the field starts):
// a ragged row, an empty or non-numeric field ("1.5x", "abc"), NaN or ±inf (unless
// allow_non_finite), a file with no rows, or a column count other than options.columns.
//
// Why not xt::load_csv: it reads fields with std::stod, which takes "1.5x" as 1.5 and accepts
// "nan", and its errors name neither the line nor the column. This reader is fuzzed
// (tests/fuzz/csv.cpp).
#include <charconv>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "file.hpp"

namespace gateaux {

struct csv_options {
    char delimiter = ',';
    std::size_t header_rows = 0;    // lines skipped at the top (column names)
    std::string comment = "#";      // lines starting with this are skipped; empty: none are
    bool allow_non_finite = false;  // accept nan, inf, -inf
    std::size_t columns = 0;        // if not 0, the number of columns the file must have
};

inline tensor parse_csv(std::string_view text, const std::string& source, const csv_options& opt = {}) {
    std::vector<double> values;
    std::size_t cols = 0, rows = 0, line_no = 0, first_row_line = 0;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++line_no;
        if (line_no <= opt.header_rows) continue;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        if (!opt.comment.empty() && line.substr(0, opt.comment.size()) == opt.comment) continue;

        const auto where = [&](std::size_t field, std::size_t character) {
            return "gateaux::read_csv: '" + source + "', line " + std::to_string(line_no) + ", column " + std::to_string(field) +
                   " (character " + std::to_string(character) + "): ";
        };
        std::size_t field = 0, from = 0;
        for (;;) {
            std::size_t to = line.find(opt.delimiter, from);
            const bool last = to == std::string_view::npos;
            if (last) to = line.size();
            ++field;
            std::string_view cell = line.substr(from, to - from);
            std::size_t lead = 0;
            while (lead < cell.size() && (cell[lead] == ' ' || cell[lead] == '\t')) ++lead;
            const std::size_t start_char = from + lead + 1;
            cell.remove_prefix(lead);
            while (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t')) cell.remove_suffix(1);
            if (cell.empty()) throw file_error(where(field, start_char) + "empty field");
            std::string_view number = cell;
            if (number.front() == '+') {
                number.remove_prefix(1);
                if (!number.empty() && (number.front() == '-' || number.front() == '+')) number = {};  // "+-1" is no number
            }
            double v = 0.0;
            const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
            if (ptr != number.data() + number.size() || (ec != std::errc() && ec != std::errc::result_out_of_range) ||
                number.empty())
                throw file_error(where(field, start_char) + "'" + std::string(cell.substr(0, 40)) + "' is not a number");
            if (ec == std::errc::result_out_of_range)
                throw file_error(where(field, start_char) + "'" + std::string(cell.substr(0, 40)) + "' is out of the range of a double (too large or too small in magnitude)");
            if (!opt.allow_non_finite && !std::isfinite(v))
                throw file_error(where(field, start_char) + "'" + std::string(cell.substr(0, 40)) +
                                 "' is not finite (allow_non_finite is off)");
            if (rows > 0 && field > cols)
                throw file_error(where(field, start_char) + "this row has more than the " + std::to_string(cols) +
                                 " fields of line " + std::to_string(first_row_line));
            values.push_back(v);
            if (last) break;
            from = to + 1;
        }
        if (rows == 0) {
            cols = field, first_row_line = line_no;
            if (opt.columns != 0 && cols != opt.columns)
                throw file_error("gateaux::read_csv: '" + source + "', line " + std::to_string(line_no) + ": " + std::to_string(cols) +
                                 " columns, expected " + std::to_string(opt.columns));
        } else if (field != cols) {
            throw file_error("gateaux::read_csv: '" + source + "', line " + std::to_string(line_no) + ": " + std::to_string(field) +
                             " fields, but line " + std::to_string(first_row_line) + " has " + std::to_string(cols));
        }
        ++rows;
    }
    if (rows == 0) throw file_error("gateaux::read_csv: '" + source + "' has no data rows");
    tensor t = xt::empty<double>({rows, cols});
    std::copy(values.begin(), values.end(), t.data());
    return t;
}

inline tensor read_csv(const std::string& path, const csv_options& opt = {}) {
    return parse_csv(read_file(path, "read_csv"), path, opt);
}

inline tensor read_csv(const std::string& path, char delimiter) {
    csv_options opt;
    opt.delimiter = delimiter;
    return read_csv(path, opt);
}

}  // namespace gateaux
