"""DATA.md's pay components, written out here on purpose (not imported from cmsettle) so that the tests
check the code against the contract: earnings (N1), the after-tax lines (N2) and which are deductions."""

EARNINGS = ("fixed_pay", "commission", "account_bonus", "excess_mv_bonus", "fund_commission",
            "transport_allowance", "meal_allowance", "referral_bonus", "station_override",
            "station_allowance", "regional_override", "regional_allowance")
AFTER_TAX = ("social_insurance", "income_tax", "risk_fund_withholding", "penalty", "management_fee",
             "deduction_carried_in", "held_income", "released_income", "risk_fund_refund", "retro_adjustment",
             "deduction_carried_out")
NEGATIVE = ("attendance_deduction", "social_insurance", "income_tax", "risk_fund_withholding", "penalty",
            "management_fee", "deduction_carried_in", "held_income")
