# Reference values for invariance(..., estimator = "wlsmv") (issue 13, item 6): ordinal
# measurement invariance with the Wu & Estabrook (2016) identification, as
#   semTools::measEq.syntax(configural.model, data, ordered = items, parameterization = "delta",
#                           ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016", group = ...,
#                           group.equal = <step>, return.fit = TRUE)
# for the steps configural -> thresholds -> thresholds + loadings -> + intercepts, each fitted
# by lavaan's WLSMV, and lavaan's default difference test between successive steps
# (lavTestLRT; for the scaled-shifted test its default method is "satorra.2000").
# Data: psych's bfi agreeableness + conscientiousness (6 categories) by gender; listwise
# (lavaan's default) and missing = "pairwise".
# Run from the repository root:  Rscript tests/reference/wlsmv_invariance.R
source("tests/reference/sem_common.R")
suppressPackageStartupMessages(library(semTools))

bfi <- read.csv("tests/reference/data/bfi.csv")
items <- c(paste0("A", 1:5), paste0("C", 1:5))
model <- "A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5"
steps <- list(configural = "", thresholds = "thresholds",
              metric = c("thresholds", "loadings"),
              scalar = c("thresholds", "loadings", "intercepts"))
fit_steps <- function(missing) {
  lapply(steps, function(eq) {
    measEq.syntax(configural.model = model, data = bfi, ordered = items,
                  parameterization = "delta", ID.fac = "std.lv",
                  ID.cat = "Wu.Estabrook.2016", group = "gender", group.equal = eq,
                  missing = missing, return.fit = TRUE)
  })
}
fits <- fit_steps("listwise")
lrt <- function(free, restricted) {
  tab <- lavTestLRT(fits[[free]], fits[[restricted]])
  list(free = free, restricted = restricted, chisq_diff = tab[2, "Chisq diff"],
       df_diff = tab[2, "Df diff"], pvalue = tab[2, "Pr(>Chisq)"],
       method = attr(tab, "heading"))
}
out <- list(
  model = model, items = items, group = "gender",
  group_sizes = as.list(unlist(lavInspect(fits$configural, "nobs"))),
  fits = lapply(names(fits), function(k) wlsmv_ref(fits[[k]], model, "bfi.csv", items,
                                                   stats = FALSE, step = k)),
  comparisons = list(lrt("configural", "thresholds"), lrt("thresholds", "metric"),
                     lrt("metric", "scalar"))
)
names(out$fits) <- names(fits)
# the same sequence with missing = "pairwise" (fit measures and difference tests)
fits <- fit_steps("pairwise")
out$pairwise <- list(
  fits = lapply(fits, function(f) wlsmv_ref(f, model, "bfi.csv", items, stats = FALSE)$fit),
  comparisons = list(lrt("configural", "thresholds"), lrt("thresholds", "metric"),
                     lrt("metric", "scalar")))
write_ref(out, "tests/reference/wlsmv_invariance.json")
