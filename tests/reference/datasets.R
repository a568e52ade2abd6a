# Export the reference data sets shipped with R packages, so the Python test suite can use
# them without R. Run from the repository root:  Rscript tests/reference/datasets.R
suppressPackageStartupMessages({library(psych); library(lavaan)})
out <- "tests/reference/data"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
data(bfi, package = "psychTools", envir = environment()) |> try(silent = TRUE)
if (!exists("bfi")) data(bfi, package = "psych")
write.csv(bfi, file.path(out, "bfi.csv"), row.names = FALSE, na = "")
write.csv(HolzingerSwineford1939, file.path(out, "HolzingerSwineford1939.csv"), row.names = FALSE, na = "")
cat("psych", as.character(packageVersion("psych")), "lavaan", as.character(packageVersion("lavaan")), "\n")
