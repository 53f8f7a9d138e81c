// SPDX-License-Identifier: Apache-2.0
// The ERC-20 token `chainops bench run --workload erc20-transfer` deploys.
// Regenerate assets/BenchToken.bin with: bash assets/build.sh
pragma solidity ^0.8.20;

contract BenchToken {
    string public constant name = "chainops bench token";
    string public constant symbol = "CBT";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        totalSupply = 1e36;
        balanceOf[msg.sender] = 1e36;
        emit Transfer(address(0), msg.sender, 1e36);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        allowance[from][msg.sender] -= value;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
        return true;
    }
}
