# OptSpace in base R, written for matcomp from the published algorithm:
#   R. H. Keshavan, A. Montanari, S. Oh, "Matrix completion from a few entries",
#   IEEE Trans. Inf. Theory 56(6), 2010 (trimming, projection, cleaning), and
#   R. H. Keshavan, S. Oh, "OptSpace: a gradient descent algorithm on the Grassman
#   manifold for matrix completion", arXiv:0910.5260, 2009 (rank estimate, manifold gradient).
#
# Same call and result as ROptSpace::OptSpace(A, ropt = NA, niter = 50, tol = 1e-6):
# list(X = n x r, S = r x r, Y = m x r, dist = errors per iteration), the completion being X S t(Y).
# Here `dist` is the relative residual on the observed set, ||P_E(A - X S Y')||_F / ||P_E(A)||_F
# (first entry: after the spectral start), and the iteration stops once it falls below `tol`.
# Differences from the papers, on purpose: no incoherence regulariser (rho = 0), and the step on the
# manifold is a geodesic with Armijo backtracking started from twice the previous step.
# matcomp calls this "builtin-published".  CRAN's ROptSpace 0.2.4 (which the paper ran) takes different
# steps; optspace_cran.R ("builtin-cran") follows those.

# Rank estimate of Keshavan & Oh (2009): argmin_i (s[i+1] + s[1] * sqrt(i / eps)) / s[i],
# where s are the singular values of the trimmed matrix and eps = |E| / sqrt(m n).
.optspace_guess_rank <- function(s, eps) {
  s <- s[s > 0]
  k <- length(s) - 1L
  if (k < 1L) return(1L)
  i <- seq_len(k)
  cost <- (s[i + 1L] + s[1L] * sqrt(i / eps)) / s[i]
  as.integer(which.min(cost))
}

# S = argmin_S sum over observed (i, j) of (v - (X S Y')_ij)^2, a least-squares problem in r^2 unknowns.
.optspace_opt_S <- function(X, Y, ii, jj, v) {
  r <- ncol(X)
  a <- rep(seq_len(r), times = r)
  b <- rep(seq_len(r), each = r)
  D <- X[ii, a, drop = FALSE] * Y[jj, b, drop = FALSE]  # column a + r (b - 1) multiplies S[a, b]
  coef <- qr.coef(qr(D), v)
  coef[is.na(coef)] <- 0  # rank-deficient design: leave the aliased coefficients at zero
  matrix(coef, r, r)
}

.optspace_predict <- function(X, S, Y, ii, jj) {
  rowSums((X[ii, , drop = FALSE] %*% S) * Y[jj, , drop = FALSE])
}

# Point at "time" t on the Grassmann geodesic from span(Q) (orthonormal Q) with tangent velocity H.
.optspace_geodesic <- function(Q, H, t) {
  h <- svd(H)
  Q %*% h$v %*% (cos(h$d * t) * t(h$v)) + h$u %*% (sin(h$d * t) * t(h$v))
}

# The observed matrix as doubles, its mask E (non-NA entries) and their count; an error when nothing is observed.
.optspace_observed <- function(A) {
  A <- as.matrix(A)
  storage.mode(A) <- "double"
  E <- !is.na(A)
  nE <- sum(E)
  if (nE == 0L) stop("OptSpace: the matrix has no observed (non-NA) entries")
  list(A = A, E = E, nE = nE)
}

optspace_builtin <- function(A, ropt = NA, niter = 50, tol = 1e-6) {
  obs <- .optspace_observed(A)
  A <- obs$A
  E <- obs$E
  nE <- obs$nE
  n <- nrow(A)
  m <- ncol(A)
  idx <- which(E, arr.ind = TRUE)
  ii <- idx[, 1L]
  jj <- idx[, 2L]
  v <- A[idx]
  vnorm <- sqrt(sum(v^2))
  if (vnorm == 0) vnorm <- 1

  # 1. Trimming: zero the rows and columns observed more than twice as often as average.
  ME <- A
  ME[!E] <- 0
  Mt <- ME
  Mt[rowSums(E) > 2 * nE / n, ] <- 0
  Mt[, colSums(E) > 2 * nE / m] <- 0
  eps <- nE / sqrt(m * n)

  # 2. Rank: given, or estimated from the spectrum of the trimmed matrix.
  sv <- svd(Mt, nu = 0L, nv = 0L)$d
  if (length(ropt) != 1L || is.na(ropt)) {
    r <- .optspace_guess_rank(sv, eps)
  } else {
    r <- as.integer(ropt)
  }
  if (r < 1L || r > min(n, m)) stop(sprintf("OptSpace: rank must be in 1..%d, got %d", min(n, m), r))

  # 3. Projection: the rank-r SVD of the rescaled trimmed matrix (m n / |E|) Mt gives the start.
  #    Column spaces only matter; X'X = n I and Y'Y = m I as in the papers, S by least squares.
  s0 <- svd(Mt * (n * m / nE), nu = r, nv = r)
  Q <- s0$u
  P <- s0$v
  X <- Q * sqrt(n)
  Y <- P * sqrt(m)
  S <- .optspace_opt_S(X, Y, ii, jj, v)
  res <- .optspace_predict(X, S, Y, ii, jj) - v
  f <- 0.5 * sum(res^2)
  dist <- sqrt(2 * f) / vnorm

  # 4. Cleaning: gradient descent of F(X, Y) = min_S F(X, Y, S) on the product of Grassmannians.
  t_prev <- NA_real_
  it <- 0L
  while (it < niter && dist[length(dist)] > tol) {
    it <- it + 1L
    R <- matrix(0, n, m)
    R[idx] <- res
    dX <- R %*% Y %*% t(S)  # Euclidean gradient of F in X (S held at its optimum)
    dY <- crossprod(R, X) %*% S
    gX <- dX - Q %*% crossprod(Q, dX)  # projection onto the horizontal (tangent) space
    gY <- dY - P %*% crossprod(P, dY)
    g2 <- sum(gX^2) + sum(gY^2)
    if (!is.finite(g2) || g2 == 0) break
    # Velocities of the orthonormal bases so that d/dt X(t) = -gX and d/dt Y(t) = -gY at t = 0.
    HX <- -gX / sqrt(n)
    HY <- -gY / sqrt(m)
    # Cap the first trial so that no principal angle moves by more than pi / 4.
    smax <- max(svd(HX, nu = 0L, nv = 0L)$d[1L], svd(HY, nu = 0L, nv = 0L)$d[1L])
    t_cap <- (pi / 4) / smax
    t <- if (is.na(t_prev)) t_cap else min(2 * t_prev, t_cap)
    accepted <- FALSE
    for (k in seq_len(60L)) {
      Qt <- .optspace_geodesic(Q, HX, t)
      Pt <- .optspace_geodesic(P, HY, t)
      ft <- 0.5 * sum((.optspace_predict(Qt * sqrt(n), S, Pt * sqrt(m), ii, jj) - v)^2)
      if (is.finite(ft) && ft <= f - 1e-4 * t * g2) {
        accepted <- TRUE
        break
      }
      t <- t / 2
    }
    if (!accepted) break  # no descent direction left at working precision
    t_prev <- t
    # Re-orthonormalise against drift, then re-fit S on the new subspaces.
    Q <- qr.Q(qr(Qt))
    P <- qr.Q(qr(Pt))
    X <- Q * sqrt(n)
    Y <- P * sqrt(m)
    S <- .optspace_opt_S(X, Y, ii, jj, v)
    res <- .optspace_predict(X, S, Y, ii, jj) - v
    f <- 0.5 * sum(res^2)
    dist <- c(dist, sqrt(2 * f) / vnorm)
  }
  list(X = X, S = S, Y = Y, dist = dist)
}

# A numpy NaN arrives in R as NaN, not NA: make every missing entry NA_real_ explicitly.
matcomp_nan_to_na <- function(A) {
  A <- as.matrix(A)
  storage.mode(A) <- "double"
  A[is.nan(A)] <- NA_real_
  A
}

# Pick and run an implementation: "auto" (ROptSpace if installed, else builtin-cran), "roptspace",
# "builtin-cran" (optspace_cran.R) or "builtin-published" (optspace_builtin above).
matcomp_optspace <- function(A, ropt = NA, niter = 50, tol = 1e-6, implementation = "auto") {
  A <- matcomp_nan_to_na(A)
  impls <- c("auto", "roptspace", "builtin-cran", "builtin-published")
  if (!implementation %in% impls) {
    stop(sprintf("implementation must be one of %s", paste(impls, collapse = ", ")), call. = FALSE)
  }
  have_ropt <- requireNamespace("ROptSpace", quietly = TRUE)
  if (implementation == "roptspace" && !have_ropt) {
    stop("R package 'ROptSpace' is not installed", call. = FALSE)
  }
  if (implementation == "auto") implementation <- if (have_ropt) "roptspace" else "builtin-cran"
  if (implementation == "roptspace") {
    fit <- ROptSpace::OptSpace(A, ropt = ropt, niter = niter, tol = tol, showprogress = FALSE)
    version <- as.character(utils::packageVersion("ROptSpace"))
  } else if (implementation == "builtin-cran") {
    fit <- optspace_cran(A, ropt = ropt, niter = niter, tol = tol)
    version <- "matcomp"
  } else {
    fit <- optspace_builtin(A, ropt = ropt, niter = niter, tol = tol)
    version <- "matcomp"
  }
  list(
    X = fit$X, S = fit$S, Y = fit$Y, M = fit$X %*% fit$S %*% t(fit$Y), dist = as.numeric(fit$dist),
    implementation = implementation, version = version, n_na = sum(is.na(A))
  )
}
