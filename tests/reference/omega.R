# Reference values for omega (tracker issue 9, items 3 and 4): psych::omega on public data sets.
# Run from the repository root:  Rscript tests/reference/omega.R
# Exports tests/reference/data/{Bechtoldt.1,Harman74}.csv (correlation matrices shipped with
# psych / datasets) and epi_E.csv (the 13 items of psychTools' epi Extraversion scale), and
# writes tests/reference/omega.json.
# psych::omega's defaults: fm = "minres", rotate = "oblimin" (after varimax, inside schmid),
# flip = TRUE, pairwise correlations; omega.tot = (1'R1 - sum(u2)) / 1'R1 with u2 = 1 - h2 and
# h2 the communalities of the factor solution (psych::schmid).
suppressPackageStartupMessages({library(psych); library(psychTools); library(GPArotation)
  library(jsonlite)})
out <- "tests/reference/data"
write.csv(Bechtoldt.1, file.path(out, "Bechtoldt.1.csv"), row.names = FALSE)
write.csv(Harman74.cor$cov, file.path(out, "Harman74.csv"), row.names = FALSE)
epi_e <- epi[, psychTools::epi.keys$E |> sub(pattern = "^-", replacement = "")]
write.csv(epi_e, file.path(out, "epi_E.csv"), row.names = FALSE, na = "")

om <- function(m, k, ...) {
  o <- suppressMessages(suppressWarnings(psych::omega(m, nfactors = k, plot = FALSE, ...)))
  sl <- o$schmid$sl
  list(nfactors = k, omega_h = o$omega_h, omega_total = o$omega.tot, g = unname(sl[, 1]),
       h2 = unname(sl[, "h2"]), u2 = unname(sl[, "u2"]), key = unname(o$key))
}

res <- list(psych = as.character(packageVersion("psych")), R = R.version.string)
res$bechtoldt <- lapply(2:8, function(k) om(Bechtoldt.1, k))
res$harman74 <- lapply(3:6, function(k) om(Harman74.cor$cov, k))

# issue 9 item 4: a subscale's omega_h in psych is the default 3-factor bifactor omega
res$epi_E <- list(
  keys = psychTools::epi.keys$E,
  three = om(epi_e, 3),  # psych's omega(x): flip = TRUE reverses the negatively keyed items
  one = om(epi_e, 1))

bfi <- read.csv(file.path(out, "bfi.csv"))
neo <- bfi[, c(paste0("N", 1:5), paste0("E", 1:5), paste0("O", 1:5))]
res$bfi_neo <- list(flip = om(neo, 3), noflip = om(neo, 3, flip = FALSE))
write_json(res, "tests/reference/omega.json", digits = NA, auto_unbox = TRUE)
cat("Bechtoldt omega.tot", sapply(res$bechtoldt, `[[`, "omega_total"), "\n")
cat("epi E omega_h (3 factors)", res$epi_E$three$omega_h, " bfi NEO flip/noflip",
    res$bfi_neo$flip$omega_h, res$bfi_neo$noflip$omega_h, "\n")
