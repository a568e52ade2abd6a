# Reference values for the report's longitudinal invariance model at full size (issue 13,
# item 5): the perspective-taking subscale of the JSE-S (10 items) over 4 training years,
# 783 students with attrition and skipped items = 40 wide variables, FIML (missing = "ml").
# Data: tests/reference/data/demo_pt_panel.csv, the 10 items of `empathy demo` (simulated by
# empathy_metrics.simulate, seed 2026; codes outside 1-7 set to missing, as the toolkit does).
# Same wide model as cfa_longitudinal.R (a factor per year, each item's residuals correlated
# across years; configural / metric / scalar).
# Run from the repository root:  Rscript tests/reference/cfa_longitudinal_wide.R
source("tests/reference/sem_common.R")

long <- read.csv("tests/reference/data/demo_pt_panel.csv")
items <- list(PT = c("JSE2", "JSE4", "JSE5", "JSE9", "JSE10", "JSE13", "JSE15", "JSE16",
                     "JSE17", "JSE20"))
times <- sort(unique(long$year))
wide <- reshape(long, idvar = "student_id", timevar = "year", direction = "wide", sep = "_")


fl <- list()
seconds <- list()
for (level in c("configural", "metric", "scalar")) {
  t0 <- proc.time()[["user.self"]]
  fl[[level]] <- cfa(long_model(level, items, times), data = wide, missing = "ml", meanstructure = TRUE)
  seconds[[level]] <- proc.time()[["user.self"]] - t0
}
lrt <- lavTestLRT(fl$configural, fl$metric, fl$scalar)
out <- list(times = times, n_ids = nrow(wide), lavaan_user_seconds = seconds,
            fiml = list(fits = lapply(fl, fit_ref), params = lapply(fl, params_ref),
                        lrt = list(chisq_diff = lrt[["Chisq diff"]][2:3],
                                   df_diff = lrt[["Df diff"]][2:3],
                                   pvalue = lrt[["Pr(>Chisq)"]][2:3])))
write_ref(out, "tests/reference/cfa_longitudinal_wide.json")
