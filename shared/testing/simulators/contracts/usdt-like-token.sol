// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// A 6-decimal ERC-20 like Tether's USDT on Ethereum, for the local chain only.
/// The deployer can mint; nobody else can.
contract UsdtLikeToken is ERC20 {
    address private immutable minter;

    error NotMinter(address caller);

    constructor() ERC20("Tether USD (local)", "USDT") {
        minter = msg.sender;
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
