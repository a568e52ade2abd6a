# Reference values for missing = "fiml" and estimator = "mlr" in empathy_metrics.cfa (issue 13,
# items "missing data" and "estimators"). Run from the repository root:
#   Rscript tests/reference/cfa_missing.R
# Writes tests/reference/cfa_missing.json and tests/reference/data/hs_missing.csv
# (HolzingerSwineford1939's x1-x9 with about 10 % of the answers deleted, missing at random
# given ageyr and x1: a fixed seed, so the file is reproducible; the tests read the file).
source("tests/reference/sem_common.R")

hs <- read.csv("tests/reference/data/HolzingerSwineford1939.csv")
set.seed(13)
hsm <- hs[, c("id", "school", "ageyr", paste0("x", 1:9))]
for (v in paste0("x", 2:9)) {
  # MAR: older pupils and pupils with low x1 skip more often
  p <- plogis(-2.6 + 0.5 * (hsm$ageyr - 13) - 0.4 * (hsm$x1 - mean(hsm$x1)))
  hsm[[v]][runif(nrow(hsm)) < p] <- NA
}
hsm$x1[runif(nrow(hsm)) < 0.05] <- NA
hsm[3, paste0("x", 1:9)] <- NA  # a pupil with no answer at all: not used
write.csv(hsm, "tests/reference/data/hs_missing.csv", row.names = FALSE, na = "")
hsm <- read.csv("tests/reference/data/hs_missing.csv")

bfi <- read.csv("tests/reference/data/bfi.csv")
pd <- read.csv("tests/reference/data/PoliticalDemocracy.csv")
hs_model <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
bfi5_model <- paste(sprintf("%s =~ %s", c("A", "C", "E", "N", "O"),
                            sapply(c("A", "C", "E", "N", "O"),
                                   function(f) paste0(f, 1:5, collapse = " + "))),
                    collapse = "\n")
bfi_ac_model <- "A =~ A1 + A2 + A3 + A4 + A5\nC =~ C1 + C2 + C3 + C4 + C5"
pd_model <- "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem65 =~ y5 + y6 + y7 + y8\ny1 ~~ y5"

inv_ref <- function(model, data, group, ...) {
  labels <- sort(unique(as.character(data[[group]])))
  data[[group]] <- as.character(data[[group]])
  fits <- list(
    configural = cfa(model, data = data, group = group, group.label = labels, ...),
    metric = cfa(model, data = data, group = group, group.label = labels,
                 group.equal = "loadings", ...),
    scalar = cfa(model, data = data, group = group, group.label = labels,
                 group.equal = c("loadings", "intercepts"), ...)
  )
  # lavTestLRT: the standard difference test, or under MLR the Satorra-Bentler (2001) scaled
  # difference test (lavaan's default method for robust tests)
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  list(model = model, group = group, groups = labels,
       fits = lapply(fits, fit_ref), params = lapply(fits, params_ref),
       lrt = list(chisq_diff = lrt[["Chisq diff"]][2:3], df_diff = lrt[["Df diff"]][2:3],
                  pvalue = lrt[["Pr(>Chisq)"]][2:3]))
}

out <- list(
  hs_fiml = ref(cfa(hs_model, data = hsm, missing = "ml"), hs_model),
  hs_fiml_mlr = ref(cfa(hs_model, data = hsm, missing = "ml", estimator = "MLR"), hs_model),
  hs_mlr = ref(cfa(hs_model, data = hs, estimator = "MLR"), hs_model),
  bfi5_fiml = ref(cfa(bfi5_model, data = bfi, missing = "ml"), bfi5_model),
  bfi5_fiml_mlr = ref(cfa(bfi5_model, data = bfi, missing = "ml", estimator = "MLR"),
                      bfi5_model),
  bfi5_mlr = ref(cfa(bfi5_model, data = bfi, estimator = "MLR"), bfi5_model),
  pd_mlr = ref(cfa(pd_model, data = pd, estimator = "MLR"), pd_model),
  hs_invariance_mlr = inv_ref(hs_model, hs, "school", estimator = "MLR"),
  bfi_invariance_fiml = inv_ref(bfi_ac_model, bfi, "gender", missing = "ml"),
  hs_invariance_fiml_mlr = inv_ref(hs_model, hsm, "school", missing = "ml", estimator = "MLR")
)
write_ref(out, "tests/reference/cfa_missing.json")
