# Helpers shared by the lavaan reference scripts of issue 13 (cfa_syntax.R, cfa_missing.R,
# cfa_modindices.R, cfa_longitudinal.R). Source from the repository root.
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
