"""Domain errors: a code and a Chinese message, nothing about HTTP."""

# Every `kind` a domain error may carry. Adapters map each to an HTTP status (webkit/errors.py);
# tests/test_house_habits.py fails when an error uses a kind not listed here or a listed kind has no
# status, so this list cannot go stale the way a comment did.
KINDS = frozenset(
    {
        "conflict",
        "not_found",
        "forbidden",
        "validation",
        "unauthorized",
        "rate_limited",
        "unavailable",
        "bad_gateway",
    }
)


class DomainError(Exception):
    """A business rule refused the operation; adapters map `kind` (one of KINDS) to an HTTP status."""

    code = "domain_error"
    message = "操作失败"
    kind = "conflict"

    def __init__(self, message=None, *, code=None, details=None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details or {}


class NotFound(DomainError):
    code, message, kind = "not_found", "资源不存在", "not_found"


class Forbidden(DomainError):
    code, message, kind = "forbidden", "无权执行此操作", "forbidden"


class ValidationFailed(DomainError):
    code, message, kind = "validation_error", "参数不正确", "validation"


class RateLimited(DomainError):
    code, message, kind = "rate_limited", "操作过于频繁，请稍后再试", "rate_limited"


class Unavailable(DomainError):
    code, message, kind = "service_unavailable", "服务暂不可用，请稍后再试", "unavailable"


class InsufficientPoints(DomainError):
    code, message = "insufficient_points", "积分不足"


class OutOfStock(DomainError):
    code, message = "out_of_stock", "库存不足"


class LimitReached(DomainError):
    code, message = "limit_reached", "已达到该商品的兑换上限"


class MallClosed(DomainError):
    code, message = "mall_closed", "积分商城暂未开放"


class GoodsUnavailable(DomainError):
    code, message = "goods_unavailable", "该商品暂不可兑换"


class LevelTooLow(DomainError):
    code, message = "level_too_low", "会员等级不足，暂不能兑换该商品"


class BudgetExceeded(DomainError):
    code, message = "budget_exceeded", "今日评价积分额度不足"


class AlreadySignedIn(DomainError):
    code, message = "already_signed_in", "今天已经签到过了"


class AlreadyIssued(DomainError):
    code, message = "already_issued", "该订单已发放"


class OrderNotPending(DomainError):
    code, message = "order_not_pending", "该订单当前状态不可操作"


class WrongVerifyCode(DomainError):
    code, message = "wrong_verify_code", "核销码不正确"


class IdempotencyKeyReused(DomainError):
    code, message, kind = "idempotency_key_reused", "该幂等键已用于不同的请求", "validation"


class UserDisabled(DomainError):
    """The acting WeChat user no longer exists or was disabled (a token outlived its user)."""

    code, message, kind = "unauthorized", "登录已失效，请重新登录", "unauthorized"
