# Reference values for empathy_metrics.mixed (issue 10, item 1): lme4::lmer + lmerTest.
# Run from the repository root:  Rscript tests/reference/mixed.R
# Writes tests/reference/data/sleepstudy.csv (lme4's sleepstudy, Belenky et al. 2003, with two
# added columns: `group`, a subject-level factor "even"/"odd" by subject number, and
# `unbalanced`, 1 for the rows kept in the unbalanced version: row i (1-based) is dropped when
# (i * 7919) %% 13 < 5, i.e. 38 % of the rows, 2 to 8 of 10 per subject),
# tests/reference/data/singular_sim.csv (a data set whose between-subject variance is exactly
# zero) and tests/reference/mixed.json.
#
# Each model is fitted twice: with lme4's default optimiser settings ("default") and with the
# optimiser run to its numerical limit (minqa BOBYQA with rhoend = 1e-12;
# "tight"). The tight fit is the exact optimum of lme4's own criterion; the default fit stops
# when the deviance changes by less than 1e-8, which leaves the variance parameters accurate to
# only about 1e-4 relative. Even the tight fit locates θ only to about 1e-7 absolute: the
# criterion is flat to double precision within that distance of its minimum. Satterthwaite df and p are lmerTest's (summary() and contest1D()
# with confint = TRUE for the t-based CI) on the tight fit.
# R 4.2.2, lme4 1.1.31, lmerTest 3.1.3, jsonlite.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                     check.conv.singular = "ignore")

s <- lme4::sleepstudy
s$Subject <- as.character(s$Subject)
s$group <- ifelse(as.integer(s$Subject) %% 2 == 0, "even", "odd")
i <- seq_len(nrow(s))
s$unbalanced <- as.integer((i * 7919L) %% 13L >= 5L)
write.csv(s, "tests/reference/data/sleepstudy.csv", row.names = FALSE)
su <- s[s$unbalanced == 1, ]

set.seed(20261201)
n_sub <- 30
sg <- data.frame(id = sprintf("P%02d", rep(seq_len(n_sub), each = 4)), t = rep(1:4, n_sub))
e <- matrix(rnorm(n_sub * 4, 0, 2), n_sub, byrow = TRUE)
e <- e - rowMeans(e)  # every subject has the same mean residual: no between-subject variance
sg$y <- round(50 + 1.5 * sg$t + as.vector(t(e)), 6)
write.csv(sg, "tests/reference/data/singular_sim.csv", row.names = FALSE)

dec <- read.csv("tests/reference/data/decline_sim.csv", stringsAsFactors = FALSE)
reverse <- c(1, 3, 6, 7, 8, 11, 12, 14, 18, 19)
keyed <- as.matrix(dec[, paste0("JSE", 1:20)])
keyed[, reverse] <- 8 - keyed[, reverse]
dec$total <- rowSums(keyed)

fit_case <- function(name, formula, data, reml, dataset, spec) {
  m <- lmerTest::lmer(formula, data = data, REML = reml, control = tight)
  m_def <- lme4::lmer(formula, data = data, REML = reml)
  co <- summary(m)$coefficients
  L <- diag(nrow(co))
  ci <- do.call(rbind, lapply(seq_len(nrow(co)), function(j)
    contest1D(m, L[j, ], confint = TRUE)))
  vc <- as.data.frame(VarCorr(m))
  terms <- list()
  for (j in seq_len(nrow(co))) {
    terms[[rownames(co)[j]]] <- list(
      estimate = co[j, "Estimate"], se = co[j, "Std. Error"], df = co[j, "df"],
      t = co[j, "t value"], p = co[j, "Pr(>|t|)"], ci = c(ci$lower[j], ci$upper[j]),
      estimate_default = unname(fixef(m_def)[j]),
      se_default = unname(sqrt(diag(as.matrix(vcov(m_def))))[j]))
  }
  sdcor <- function(v1, v2 = NA) {
    if (is.null(v1) || is.null(v2)) return(NULL)
    k <- vc$grp == "id_" & vc$var1 == v1 & (if (is.na(v2)) is.na(vc$var2) else vc$var2 %in% v2)
    if (any(k)) vc$sdcor[k] else NULL
  }
  vc$grp[vc$grp != "Residual"] <- "id_"
  out <- list(
    dataset = dataset, spec = spec, reml = reml, formula = deparse(formula),
    terms = terms, vcov = unname(as.matrix(vcov(m))),
    theta = unname(getME(m, "theta")), theta_default = unname(getME(m_def, "theta")),
    sigma = sigma(m), sigma_default = sigma(m_def),
    sd_intercept = sdcor("(Intercept)"),
    sd_slope = sdcor(spec$slope_var), cor_intercept_slope = sdcor("(Intercept)", spec$slope_var),
    deviance_crit = if (reml) REMLcrit(m) else deviance(m),
    loglik = as.numeric(logLik(m)), loglik_default = as.numeric(logLik(m_def)),
    singular = isSingular(m, tol = 1e-4), singular_default = isSingular(m_def, tol = 1e-4),
    n_obs = nobs(m), n_groups = unname(ngrps(m)))
  out
}

cases <- list()
add <- function(name, formula, data, reml, dataset, spec) {
  cases[[name]] <<- fit_case(name, formula, data, reml, dataset, spec)
}
ss <- function(time, categorical, slope, covariates = list(), unbalanced = FALSE)
  list(y = "Reaction", id = "Subject", time = time, categorical = categorical,
       random_slope = slope, covariates = covariates, unbalanced = unbalanced,
       slope_var = if (slope) time else NULL)

for (ub in c(FALSE, TRUE)) {
  d <- if (ub) su else s
  tag <- if (ub) "sleep_unbalanced" else "sleep_balanced"
  add(paste0(tag, "_ri_linear"), Reaction ~ Days + (1 | Subject), d, TRUE, "sleepstudy",
      ss("Days", FALSE, FALSE, unbalanced = ub))
  add(paste0(tag, "_rs_linear"), Reaction ~ Days + (1 + Days | Subject), d, TRUE, "sleepstudy",
      ss("Days", FALSE, TRUE, unbalanced = ub))
  add(paste0(tag, "_ri_categorical"), Reaction ~ factor(Days) + (1 | Subject), d, TRUE,
      "sleepstudy", ss("Days", TRUE, FALSE, unbalanced = ub))
  add(paste0(tag, "_rs_categorical"), Reaction ~ factor(Days) + (1 + Days | Subject), d, TRUE,
      "sleepstudy", ss("Days", TRUE, TRUE, unbalanced = ub))
  add(paste0(tag, "_rs_linear_group"), Reaction ~ Days + group + (1 + Days | Subject), d, TRUE,
      "sleepstudy", ss("Days", FALSE, TRUE, list(group = "categorical"), unbalanced = ub))
  add(paste0(tag, "_rs_linear_ml"), Reaction ~ Days + (1 + Days | Subject), d, FALSE,
      "sleepstudy", ss("Days", FALSE, TRUE, unbalanced = ub))
  add(paste0(tag, "_ri_categorical_ml"), Reaction ~ factor(Days) + (1 | Subject), d, FALSE,
      "sleepstudy", ss("Days", TRUE, FALSE, unbalanced = ub))
}

sing <- function(slope) list(y = "y", id = "id", time = "t", categorical = FALSE,
                             random_slope = slope, covariates = list(), unbalanced = FALSE,
                             slope_var = if (slope) "t" else NULL)
add("singular_ri", y ~ t + (1 | id), sg, TRUE, "singular_sim", sing(FALSE))
add("singular_rs", y ~ t + (1 + t | id), sg, TRUE, "singular_sim", sing(TRUE))

dspec <- function(categorical, covariates) list(
  y = "total", id = "id", time = "year", categorical = categorical, random_slope = FALSE,
  covariates = covariates, unbalanced = FALSE, slope_var = NULL)
add("decline_categorical_cohort", total ~ factor(year) + factor(cohort) + (1 | id), dec, TRUE,
    "decline_sim", dspec(TRUE, list(cohort = "categorical")))
add("decline_linear_gender", total ~ year + gender + (1 | id), dec, TRUE, "decline_sim",
    dspec(FALSE, list(gender = "categorical")))

# The two models trend() fits per scale of decline_sim (as tests/reference/cohorts.R, which has
# lme4's Wald CIs): Satterthwaite df, p and t-based CI of every term.
scales <- list(
  perspective_taking = c(2, 4, 5, 9, 10, 13, 15, 16, 17, 20),
  compassionate_care = c(1, 7, 8, 11, 12, 14, 18, 19),
  standing_in_patients_shoes = c(3, 6),
  total = 1:20
)
trend_terms <- function(m) {
  co <- summary(m)$coefficients
  L <- diag(nrow(co))
  out <- list()
  for (j in seq_len(nrow(co))) {
    ct <- contest1D(m, L[j, ], confint = TRUE)
    nm <- rownames(co)[j]
    nm <- if (nm == "(Intercept)") "Intercept" else if (nm == "year") "time" else
      paste0(sub("factor\\(year\\)", "time[", nm), "]")
    out[[nm]] <- list(estimate = ct$Estimate, se = ct$`Std. Error`, df = ct$df,
                      ci = c(ct$lower, ct$upper), p = ct$`Pr(>|t|)`)
  }
  out
}
trend_ref <- list()
for (sc in names(scales)) {
  dd <- data.frame(y = rowSums(keyed[, scales[[sc]], drop = FALSE]), year = dec$year,
                   id = dec$id)
  trend_ref[[sc]] <- list(
    categorical = trend_terms(lmerTest::lmer(y ~ factor(year) + (1 | id), dd, control = tight)),
    linear = trend_terms(lmerTest::lmer(y ~ year + (1 | id), dd, control = tight)))
}

info <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
             lmerTest = as.character(packageVersion("lmerTest")))
writeLines(toJSON(list(info = info, cases = cases, trend = trend_ref), auto_unbox = TRUE, digits = NA,
                  pretty = TRUE, null = "null"),
           "tests/reference/mixed.json")
