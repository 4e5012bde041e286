# Doxygen's input filter (docs/Doxyfile, INPUT_FILTER): the headers' plain // comments become
# documentation. A header's opening comment (after #pragma once, before the first code line)
# documents the file (the #pragma line becomes "/// \file", so line numbers stay); a // comment
# that starts a line documents what follows it. Comments after code on a line stay plain.
BEGIN { top = 1 }
{
    if (top) {
        if ($0 ~ /^#pragma once/) { print "/// \\file"; next }
        if ($0 ~ /^\/\/([^\/]|$)/) { sub(/^\/\//, "///"); print; next }
        top = 0
    }
    line = $0
    if (line ~ /^[ \t]*\/\/([^\/!]|$)/) sub(/\/\//, "///", line)
    print line
}
