# Helpers shared by the lavaan reference scripts of issue 13 (cfa_syntax.R, cfa_missing.R,
# cfa_modindices.R, cfa_longitudinal.R, wlsmv.R, wlsmv_invariance.R). Source from the
# repository root.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

fit_names <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
               "rmsea.ci.upper", "srmr", "aic", "bic", "logl", "npar", "baseline.chisq",
               "baseline.df")
scaled_names <- c("chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
                  "cfi.scaled", "tli.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled",
                  "rmsea.ci.upper.scaled", "baseline.chisq.scaled")

fit_ref <- function(fit) {
  names <- fit_names
  if (lavInspect(fit, "options")$test[1] != "standard") names <- c(names, scaled_names)
  fm <- fitMeasures(fit, names)
  out <- as.list(unname(fm))
  names(out) <- gsub(".", "_", names, fixed = TRUE)
  out$n <- lavInspect(fit, "ntotal")
  out$converged <- lavInspect(fit, "converged")
  out
}

# every parameter: lhs, op, rhs, group label, estimate, se, std.all
params_ref <- function(fit) {
  pe <- parameterEstimates(fit, standardized = TRUE)
  labels <- lavInspect(fit, "group.label")
  grp <- if (length(labels) == 0) rep("", nrow(pe)) else labels[pe$group]
  list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = grp, est = pe$est, se = pe$se,
       std = pe$std.all)
}

ref <- function(fit, model, ...) {
  c(list(model = model, fit = fit_ref(fit), params = params_ref(fit)), list(...))
}

write_ref <- function(out, path) {
  out$versions <- list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")))
  writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), path)
}

# WLSMV fits (wlsmv.R, wlsmv_invariance.R): lavaan's fitMeasures for the scaled-shifted test
wlsmv_names <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
                 "chisq.scaling.factor", "baseline.chisq", "baseline.df",
                 "baseline.chisq.scaled", "baseline.df.scaled", "cfi", "tli", "cfi.scaled",
                 "tli.scaled", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.scaled",
                 "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "srmr")

wlsmv_ref <- function(fit, model, data_name, items, stats = TRUE, ...) {
  fm <- fitMeasures(fit, wlsmv_names)
  f <- as.list(unname(fm))
  names(f) <- gsub(".", "_", wlsmv_names, fixed = TRUE)
  f$n <- lavInspect(fit, "ntotal")
  f$converged <- lavInspect(fit, "converged")
  f$shift <- unname(lavInspect(fit, "test")$scaled.shifted$shift.parameter)
  out <- list(model = model, data = data_name, items = items, fit = f,
              params = params_ref(fit), ...)
  if (stats) {
    # the sample statistics (thresholds, polychorics), Gamma (NACOV) and the DWLS weights,
    # so the estimator can be checked on lavaan's own sample statistics
    out$wls_obs <- unname(unlist(lavInspect(fit, "wls.obs")))
    out$wls_v <- unname(diag(lavInspect(fit, "wls.v")))
    out$gamma <- unname(lavInspect(fit, "gamma"))
  }
  out
}

# The wide longitudinal invariance model: a factor per occasion, each item's residuals
# correlated across occasions; "configural" / "metric" (loadings equal across occasions) /
# "scalar" (+ intercepts equal, factor means free after the first occasion).
long_model <- function(level, items, times) {
  lines <- c()
  for (f in names(items)) for (t in times) {
    terms <- sapply(seq_along(items[[f]]), function(k) {
      v <- items[[f]][k]
      lab <- if (level != "configural" && k > 1) paste0("L_", v, "*") else ""
      paste0(lab, v, "_", t)
    })
    lines <- c(lines, sprintf("%s_%s =~ %s", f, t, paste(terms, collapse = " + ")))
  }
  for (v in unlist(items)) {
    for (t in times) {
      lab <- if (level == "scalar") paste0("I_", v, "*") else ""
      lines <- c(lines, sprintf("%s_%s ~ %s1", v, t, lab))
    }
    pairs <- combn(times, 2)
    for (k in seq_len(ncol(pairs))) {
      lines <- c(lines, sprintf("%s_%s ~~ %s_%s", v, pairs[1, k], v, pairs[2, k]))
    }
  }
  for (f in names(items)) for (t in times) {
    free <- level == "scalar" && t != times[1]
    lines <- c(lines, sprintf("%s_%s ~ %s1", f, t, if (free) "NA*" else "0*"))
  }
  paste(lines, collapse = "\n")
}
