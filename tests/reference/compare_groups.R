# Reference for em.compare_groups (issue 11 item 6) on psych's bfi (tests/reference/data/bfi.csv):
# the agreeableness sum score (A1 reverse keyed: 7 - A1, then A1..A5 summed; complete cases)
# compared between education levels, reference = the largest level (3).
# Run from the repository root:  Rscript tests/reference/compare_groups.R
# Writes tests/reference/compare_groups.json.
suppressPackageStartupMessages({library(jsonlite); library(effectsize)})

bfi <- read.csv("tests/reference/data/bfi.csv")
items <- bfi[, c("A1", "A2", "A3", "A4", "A5")]
ok <- complete.cases(items) & !is.na(bfi$education)
total <- (7 - items$A1) + items$A2 + items$A3 + items$A4 + items$A5
d <- data.frame(total = total[ok], education = bfi$education[ok])
ref <- 3
x_ref <- d$total[d$education == ref]
rows <- list()
for (lev in sort(setdiff(unique(d$education), ref))) {
  x <- d$total[d$education == lev]
  tt <- t.test(x, x_ref)  # Welch
  cd <- cohens_d(x, x_ref, ci = 0.95)
  hg <- hedges_g(x, x_ref, ci = 0.95)
  rows[[length(rows) + 1]] <- list(
    group = lev, n = length(x), mean = mean(x), sd = sd(x),
    ci = as.numeric(t.test(x)$conf.int),
    diff = unname(tt$estimate[1] - tt$estimate[2]), diff_ci = as.numeric(tt$conf.int),
    p = tt$p.value, d = cd$Cohens_d, d_ci = c(cd$CI_low, cd$CI_high),
    g = hg$Hedges_g, g_ci = c(hg$CI_low, hg$CI_high))
}
p_holm <- p.adjust(sapply(rows, function(r) r$p), method = "holm")
for (i in seq_along(rows)) rows[[i]]$p_holm <- p_holm[i]
ow <- oneway.test(total ~ factor(education), data = d, var.equal = FALSE)
kw <- kruskal.test(total ~ factor(education), data = d)
out <- list(
  r_version = R.version.string, effectsize = as.character(packageVersion("effectsize")),
  reference = ref, n_reference = length(x_ref), mean_reference = mean(x_ref), comparisons = rows,
  welch_anova = list(statistic = unname(ow$statistic), df1 = unname(ow$parameter[1]),
                     df2 = unname(ow$parameter[2]), p = ow$p.value),
  kruskal = list(statistic = unname(kw$statistic), df = unname(kw$parameter), p = kw$p.value))
write_json(out, "tests/reference/compare_groups.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
