# Reference values for empathy_metrics.cfa (tracker issue 3, items 3 and 4).
# Run from the repository root:  Rscript tests/reference/cfa.R
# Writes tests/reference/cfa.json (full precision). Needs lavaan (0.6-14 here) and jsonlite.
# lavaan defaults throughout: estimator ML, likelihood "normal" (covariances divided by N),
# marker-variable identification, correlated factors, expected information for the SEs,
# meanstructure only in the multi-group models.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

fit_names <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
               "rmsea.ci.upper", "srmr", "aic", "bic", "logl", "npar", "baseline.chisq",
               "baseline.df")

fit_ref <- function(fit) {
  fm <- fitMeasures(fit, fit_names)
  out <- as.list(unname(fm))
  names(out) <- gsub(".", "_", fit_names, fixed = TRUE)
  out$n <- lavInspect(fit, "ntotal")
  out$converged <- lavInspect(fit, "converged")
  out
}

# every estimated parameter: lhs, op, rhs, group label, estimate, se, std.all
params_ref <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE)
  labels <- lavInspect(fit, "group.label")
  grp <- if (length(labels) == 0) rep("", nrow(pe)) else labels[pe$group]
  list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = grp, est = pe$est, se = pe$se,
       std = pe$std.all)
}

cfa_ref <- function(model, data) {
  fit <- cfa(model, data = data)
  list(model = model, fit = fit_ref(fit), params = params_ref(fit))
}

invariance_ref <- function(model, data, group) {
  labels <- sort(unique(as.character(data[[group]])))
  data[[group]] <- as.character(data[[group]])
  fits <- list(
    configural = cfa(model, data = data, group = group, group.label = labels),
    metric = cfa(model, data = data, group = group, group.label = labels,
                 group.equal = "loadings"),
    scalar = cfa(model, data = data, group = group, group.label = labels,
                 group.equal = c("loadings", "intercepts"))
  )
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  list(
    model = model, group = group, groups = labels,
    n = as.list(setNames(lavInspect(fits$configural, "nobs"), labels)),  # complete cases
    fits = lapply(fits, fit_ref),
    params = lapply(fits, params_ref),
    lrt = list(chisq_diff = lrt[["Chisq diff"]][2:3], df_diff = lrt[["Df diff"]][2:3],
               pvalue = lrt[["Pr(>Chisq)"]][2:3])
  )
}

# (a) lavaan's classic three-factor model of HolzingerSwineford1939 ----------------------------
hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
hs_model <- "
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
"
hs_model_cov <- paste(hs_model, "x7 ~~ x8\n")  # with one residual covariance

# (c) Jefferson-structured simulation (tests/reference/reliability.R wrote jse_sim.csv):
# simulated factors 1-3 (q1-q10, q11-q18, q19-q20) play the three jse-s subscales. The raw
# answers a respondent would give are rebuilt by mapping the q's onto the subscale items in
# order and undoing the reverse keying; the CFA then reverse-keys them again (8 - x) exactly as
# empathy_metrics.scoring.keyed_items does.
sim <- read.csv("tests/reference/data/jse_sim.csv")
subscales <- list(
  perspective_taking = paste0("JSE", c(2, 4, 5, 9, 10, 13, 15, 16, 17, 20)),
  compassionate_care = paste0("JSE", c(1, 7, 8, 11, 12, 14, 18, 19)),
  standing_in_patients_shoes = paste0("JSE", c(3, 6))
)
reverse <- paste0("JSE", c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19))
order <- unlist(subscales, use.names = FALSE)
raw <- as.data.frame(setNames(lapply(seq_along(order), function(i) sim[[paste0("q", i)]]),
                              order))
raw[reverse] <- 8 - raw[reverse]
keyed <- raw
keyed[reverse] <- 8 - keyed[reverse]
# a deterministic three-level "year" for the invariance reference: rows 1-167, 168-334, 335-500
keyed$year <- rep(1:3, times = c(167, 167, 166))
jse_model <- paste(sprintf("%s =~ %s", names(subscales),
                           sapply(subscales, paste, collapse = " + ")), collapse = "\n")

# (d) psych's bfi (with missing answers: lavaan drops incomplete cases listwise): the five
# factor model (A1, C4, C5, E1, E2, O2, O5 are negatively keyed, so some markers load
# negatively) and a misfitting one-factor model of the A and C items; invariance of the
# two-factor A/C model by gender.
bfi <- read.csv("tests/reference/data/bfi.csv")
bfi5_model <- paste(sprintf("%s =~ %s", c("A", "C", "E", "N", "O"),
                            sapply(c("A", "C", "E", "N", "O"),
                                   function(f) paste0(f, 1:5, collapse = " + "))),
                    collapse = "\n")
bfi1_model <- "g =~ A1 + A2 + A3 + A4 + A5 + C1 + C2 + C3 + C4 + C5"
bfi_ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5"

out <- list(
  versions = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
  hs = cfa_ref(hs_model, hs),
  hs_cov = cfa_ref(hs_model_cov, hs),
  hs_invariance = invariance_ref(hs_model, hs, "school"),
  jse = cfa_ref(jse_model, keyed),
  jse_invariance = invariance_ref(jse_model, keyed, "year"),
  bfi5 = cfa_ref(bfi5_model, bfi),
  bfi1 = cfa_ref(bfi1_model, bfi),
  bfi_invariance = invariance_ref(bfi_ac_model, bfi, "gender")
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/cfa.json")
